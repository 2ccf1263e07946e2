// E2E helper: what a user does in the Node-RED editor (palette, workspace, dialogs, deploy, sidebar), through the DOM.
import type { Locator, Page } from 'playwright-core';

/** The SVG group of a node on the workspace; Node-RED gives it the node's id. */
export function flowNode(page: Page, id: string): Locator {
  return page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"]`);
}

export function paletteNode(page: Page, type: string): Locator {
  return page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
}

/** Loads the editor and waits until the palette and the deployed flow are drawn. */
export async function openEditor(page: Page, url: string, paletteType: string, flowNodeId: string): Promise<void> {
  await page.goto(url);
  await paletteNode(page, paletteType).waitFor({ state: 'attached' });
  await flowNode(page, flowNodeId).waitFor();
}

/** Mouse drag in small steps: jQuery UI and d3 only follow a drag that moves. */
async function drag(page: Page, from: Locator, to: { x: number; y: number }): Promise<void> {
  const box = await from.boundingBox();
  if (!box) throw new Error(`${String(from)} has no box to drag from`);
  const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(start.x + 5, start.y + 5);
  await page.mouse.move(to.x, to.y, { steps: 15 });
  await page.mouse.up();
}

async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`${String(locator)} is not visible`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Ids of every node drawn on the workspace. */
function drawnIds(page: Page): Promise<string[]> {
  return page.locator('#red-ui-workspace-chart g.red-ui-flow-node-group').evaluateAll((gs) => gs.map((g) => g.id));
}

/**
 * Drags a node from the palette to (x, y) of the workspace and returns the new node's id.
 * The palette is scrolled first: a category below the fold has no box to grab.
 */
export async function dropFromPalette(page: Page, type: string, at: { x: number; y: number }): Promise<string> {
  const before = new Set(await drawnIds(page));
  const source = paletteNode(page, type);
  await source.scrollIntoViewIfNeeded();
  const chart = await page.locator('#red-ui-workspace-chart').boundingBox();
  if (!chart) throw new Error('the workspace is not visible');
  await drag(page, source, { x: chart.x + at.x, y: chart.y + at.y });
  // The dropped node is the one that is selected and was not drawn before.
  const added = page.locator('#red-ui-workspace-chart g.red-ui-flow-node-group.red-ui-flow-node-selected');
  await added.first().waitFor();
  const ids = (await added.evaluateAll((gs) => gs.map((g) => g.id))).filter((id) => !before.has(id));
  if (ids.length !== 1) throw new Error(`expected one new node after the drop, found ${ids.length}`);
  return ids[0];
}

/** Draws a wire from the first output port of `fromId` to the input port of `toId`. */
export async function wire(page: Page, fromId: string, toId: string): Promise<void> {
  const links = page.locator('#red-ui-workspace-chart .red-ui-flow-link');
  const count = await links.count();
  await drag(page, flowNode(page, fromId).locator('.red-ui-flow-port-output').first(), await centre(flowNode(page, toId).locator('.red-ui-flow-port-input')));
  await page.waitForFunction(
    ([selector, n]) => document.querySelectorAll(selector).length > n,
    ['#red-ui-workspace-chart .red-ui-flow-link', count] as const,
  );
}

/** Waits until a dialog's button is visible and has stopped moving: trays slide in, and a screenshot or a typed key during the slide goes astray. */
async function settled(button: Locator): Promise<void> {
  await button.click({ trial: true }); // the actionability checks of a click, without the click
}

/** Opens a node's edit dialog with a double click and waits for it to settle. */
export async function openNodeDialog(page: Page, id: string): Promise<void> {
  await flowNode(page, id).locator('.red-ui-flow-node').dblclick();
  await settled(page.locator('#node-dialog-ok'));
}

/** Opens the config node dialog with one of a config field's buttons (pencil: edit, plus: add) and waits for it to settle. */
export async function openConfigDialog(page: Page, property: string, button: 'edit' | 'add'): Promise<void> {
  await page.locator(`#node-input-btn-${property}-${button}`).click();
  await settled(page.locator('#node-config-dialog-ok'));
}

/** Replaces a field's text by typing, so the editor's keyup validation runs as it does for a user. */
export async function typeInto(field: Locator, text: string): Promise<void> {
  await field.fill('');
  await field.pressSequentially(text);
}

/** Clicks Deploy and waits until the editor reports the flows deployed (button disabled, shade gone). */
export async function deploy(page: Page): Promise<void> {
  const button = page.locator('#red-ui-header-button-deploy');
  await button.click();
  await page.locator('#red-ui-header-button-deploy.disabled').waitFor({ state: 'attached' });
  await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
}

/**
 * Brings a sidebar tab (info, help, debug, ...) to the front. A narrow sidebar shows some tabs
 * only as icon buttons, so click whichever of the two is visible.
 */
export async function showSidebarTab(page: Page, tab: string): Promise<void> {
  await page.locator(`#red-ui-tab-${tab} > a.red-ui-tab-label:visible, #red-ui-tab-${tab}-link-button:visible`).first().click();
  await page.locator(`#red-ui-tab-${tab}.active`).waitFor({ state: 'attached' });
}
