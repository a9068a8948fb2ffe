// A hypervisor connection's health as administrators read it, and the backoff of its retries:
// pure logic, with the clock and the jitter given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKOFF_FIRST_MS, BACKOFF_MAX_MS, ConnectionHealth, DOWN_AFTER_ATTEMPTS } from '../../inventory/connection-health.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 8, 0, s));

test('connected, then lost: reconnecting since the loss, down after repeated failures (same since), connected again', () => {
  const health = new ConnectionHealth(at(0), () => 0.5);
  assert.equal(health.tried, false);
  health.connected(at(1));
  assert.deepEqual(health.condition, { state: 'connected', since: at(1), failedAttempts: 0 });
  health.lost(at(10), 'End of file while reading data: Input/output error');
  assert.deepEqual(health.condition, {
    state: 'reconnecting',
    since: at(10),
    reason: 'End of file while reading data: Input/output error',
    failedAttempts: 0,
  });
  for (let i = 1; i < DOWN_AFTER_ATTEMPTS; i++) {
    health.attemptFailed(at(10 + i), 'Failed to connect socket: Connection refused');
    assert.equal(health.condition.state, 'reconnecting');
    assert.equal(health.condition.since.getTime(), at(10).getTime(), 'still reconnecting since the loss');
  }
  health.attemptFailed(at(20), 'Failed to connect socket: Connection refused');
  assert.deepEqual(health.condition, {
    state: 'down',
    since: at(20),
    reason: 'Failed to connect socket: Connection refused',
    failedAttempts: DOWN_AFTER_ATTEMPTS,
  });
  health.attemptFailed(at(40), 'Failed to connect socket: No such file or directory');
  assert.equal(health.condition.since.getTime(), at(20).getTime(), 'down since it went down, with the latest reason');
  assert.equal(health.condition.reason, 'Failed to connect socket: No such file or directory');
  health.connected(at(50));
  assert.deepEqual(health.condition, { state: 'connected', since: at(50), failedAttempts: 0 });
});

test('a host never reached is down from its first failed attempt', () => {
  const health = new ConnectionHealth(at(0));
  assert.equal(health.condition.state, 'reconnecting');
  health.attemptFailed(at(1), 'Cannot recv data: Connection reset by peer');
  assert.equal(health.tried, true);
  assert.deepEqual(health.condition, {
    state: 'down',
    since: at(1),
    reason: 'Cannot recv data: Connection reset by peer',
    failedAttempts: 1,
  });
});

test('the backoff doubles from its first step to its ceiling, with ±20 % jitter', () => {
  let jitter = 0.5;
  const health = new ConnectionHealth(at(0), () => jitter);
  health.connected(at(0));
  health.lost(at(1), 'lost');
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    delays.push(health.nextDelayMs());
    health.attemptFailed(at(2 + i), 'refused');
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  assert.equal(delays[0], BACKOFF_FIRST_MS);
  assert.equal(Math.max(...delays), BACKOFF_MAX_MS);
  jitter = 0;
  assert.equal(health.nextDelayMs(), BACKOFF_MAX_MS * 0.8);
  jitter = 1;
  assert.equal(health.nextDelayMs(), BACKOFF_MAX_MS * 1.2);
});
