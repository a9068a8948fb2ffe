import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveSessions } from '../../proxy/live-sessions.js';
import type { Relay } from '../../proxy/relay.js';
import type { DisplayTokenClaims } from '../../contract/display-token.js';

const claims: DisplayTokenClaims = {
  sub: 'alice',
  groups: [],
  roles: ['user'],
  desktop: 'lab/a',
  protocol: 'spice',
  viewOnly: false,
  jti: 'j',
  iat: 0,
  exp: 60,
};
/** Stand-ins: the registry only keeps relays in a set. */
const relay = () => ({}) as Relay;

test('a session ends when its last connection closes, and only then are its listeners told', () => {
  const sessions = new LiveSessions();
  const ended: string[] = [];
  const stop = sessions.onEnded((s) => ended.push(s.id));
  const [main, display] = [relay(), relay()];
  const session = sessions.attach('spice:1', claims, main);
  assert.equal(sessions.attach('spice:1', claims, display), session, 'channels of one session share it');
  sessions.detach(session, main);
  assert.deepEqual(ended, [], 'one channel left: the session goes on');
  assert.equal(sessions.size, 1);
  sessions.detach(session, display);
  assert.deepEqual(ended, [session.id]);
  assert.equal(sessions.size, 0);
  assert.equal(sessions.find(session.id), undefined);

  stop();
  const next = sessions.attach('spice:2', claims, main);
  sessions.detach(next, main);
  assert.deepEqual(ended, [session.id], 'a removed listener hears nothing');
});
