import assert from 'node:assert/strict';
import { test } from 'node:test';
import { largestIdleCount, openFilesHardLimit } from '../../bench/open-files.js';

const limits = (soft: string, hard: string) => `Limit                     Soft Limit           Hard Limit           Units     
Max processes             95644                95644                processes 
Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     
Max locked memory         8388608              8388608              bytes     
`;

test('the open-file hard limit is read from /proc/self/limits', () => {
  assert.equal(openFilesHardLimit(limits('1024', '20000')), 20000);
  assert.equal(openFilesHardLimit(limits('1024', 'unlimited')), Number.MAX_SAFE_INTEGER);
  assert.throws(() => openFilesHardLimit('Max processes 1 1 processes\n'), /no "Max open files" line/);
  assert.ok(openFilesHardLimit() > 0, 'this machine has a limit');
});

test('idle sessions stop short of the limit: two sockets each, and some left for the proxy itself', () => {
  assert.equal(largestIdleCount(10_000, 1_048_576), 10_000);
  assert.equal(largestIdleCount(10_000, 20_000), 9_960);
  assert.ok(2 * largestIdleCount(10_000, 20_000) + 64 <= 20_000);
});
