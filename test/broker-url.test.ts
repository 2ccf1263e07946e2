// Specs for nodes/session/config/broker-url.ts: laws of URL normalisation, server lists and display (the single cases are in config.test.ts).
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { displayUrl, normaliseBrokerUrl, parseServers, withPort } from '../nodes/session/config/broker-url';

// Starting past `f`: a name of hex digits and a colon (`cafe:1883`) is read as a bare IPv6 address, as core reads it.
// And not `xn--`: a punycode label that does not decode is no host name (WHATWG URL refuses it).
const label = fc.stringMatching(/^[g-z][a-z0-9-]{0,8}[a-z0-9]$/).filter((l) => !l.startsWith('xn--'));
const host = fc.array(label, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));
const port = fc.integer({ min: 1, max: 65535 });
const scheme = fc.constantFrom('mqtt', 'tcp', 'mqtts', 'ssl', 'tls', 'ws', 'wss');
const secret = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
// Behind a prefix no message of ours holds: a one-letter password is in the word "invalid" whether shown or not.
const password = secret.map((s) => `Pw9${s}`);
/** A URL a user could write: a scheme or none, a host, maybe a port, maybe credentials. */
const written = fc.record({ scheme: fc.option(scheme, { nil: undefined }), user: fc.option(secret, { nil: undefined }), password, host, port: fc.option(port, { nil: undefined }) }).map((u) => {
  const auth = u.user === undefined ? '' : `${u.user}:${u.password}@`;
  return { ...u, text: `${u.scheme === undefined ? '' : `${u.scheme}://`}${auth}${u.host}${u.port === undefined ? '' : `:${u.port}`}` };
});

const urlOf = (r: { url: string } | { error: string }): string => {
  if ('error' in r) throw new Error(r.error);
  return r.url;
};

describe('broker-url', () => {
  it('gives back a normalised URL unchanged when normalised again, with TLS or without', () => {
    fc.assert(
      fc.property(written, fc.boolean(), (w, tls) => {
        const once = urlOf(normaliseBrokerUrl(w.text, tls));
        assert.equal(urlOf(normaliseBrokerUrl(once, tls)), once);
        assert.match(once, tls ? /^(mqtts|wss):\/\// : /^(mqtts?|wss?):\/\//);
      }),
    );
  });

  it('never shows the password, in a displayed URL or in an error about it', () => {
    fc.assert(
      fc.property(written, fc.constantFrom('', ' x', ':abc', '/%'), (w, junk) => {
        fc.pre(w.user !== undefined && !w.host.includes(w.password) && !(w.scheme ?? '').includes(w.password) && !String(w.port ?? '').includes(w.password));
        assert.ok(!displayUrl(urlOf(normaliseBrokerUrl(w.text))).includes(w.password));
        const broken = normaliseBrokerUrl(`${w.text}${junk}`);
        if ('error' in broken) assert.ok(!broken.error.includes(w.password), broken.error);
      }),
    );
  });

  it('lists distinct servers in the order written, whatever separates them', () => {
    fc.assert(
      fc.property(fc.uniqueArray(host, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ' ', '\n', ', ', ' ,\n'), (hosts, sep) => {
        const parsed = parseServers(hosts.join(sep), undefined);
        assert.deepEqual(parsed, { urls: hosts.map((h) => `mqtt://${h}`) });
      }),
    );
  });

  it('refuses a list that names one server twice, and names which of several is wrong', () => {
    assert.deepEqual(parseServers('a, b, mqtt://a', undefined), { error: 'broker URL "mqtt://a" is listed twice' });
    assert.deepEqual(parseServers('a http://b', undefined), { error: 'unsupported scheme "http:" in broker URL (use mqtt, mqtts, ws or wss) (server 2 of 2)' });
  });

  it("joins core's port to every bare host of a list, and to no host that has a port or a scheme", () => {
    fc.assert(
      fc.property(host, port, port, (h, own, core) => {
        assert.equal(withPort(h, core), `${h}:${core}`);
        assert.equal(withPort(`${h}:${own}`, core), `${h}:${own}`);
        assert.equal(withPort(`ws://${h}`, core), `ws://${h}`);
        assert.deepEqual(parseServers(`${h} ${h}x:${own}`, core), { urls: [`mqtt://${h}:${core}`, `mqtt://${h}x:${own}`] });
      }),
    );
  });
});
