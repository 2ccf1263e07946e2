// The named limits of a durable-mqtt-in: its topic filters and its delivery limit; shared by its settings, its dynamic subscriptions and the editor.

/**
 * Topic filters one msg.action may list (subscribe or unsubscribe). The subscription plan is
 * near-linear in the filters (session/subscriptions/filter-index.ts), yet every filter is checked, saved, planned
 * and sent in the turn of the event loop that takes the msg; a longer list is refused with
 * done(err), so one msg cannot hold the loop for long. Split a longer list over several msgs.
 */
export const MAX_FILTERS_PER_ACTION = 5_000;

/**
 * Topic filters one durable-mqtt-in holds, its own and its dynamic ones together. Each change
 * plans all of them again, and they are planned again at every start: at this limit a change took
 * 0.2–0.3 s of the event loop on a busy two-core machine. A subscribe past it is refused with
 * done(err); a saved list past it (from a version without the limit) keeps its first filters.
 */
export const MAX_FILTERS_PER_NODE = 10_000;

/**
 * The highest `maxDeliveries`. Each delivery past the first is a reconnect of the shared
 * connection, backing off up to the config node's backoffMax: a thousand of them is days of
 * retrying one message, past any outage a retry is meant to ride out.
 */
export const MAX_DELIVERIES = 1000;
