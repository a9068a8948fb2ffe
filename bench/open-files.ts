// How many idle sessions one proxy process can hold here: each holds two sockets (browser and
// display), and a process cannot open more files than its hard limit, which only a privileged
// process can raise (this machine's is 20,000, so it stops just short of 10,000 sessions).
import { readFileSync } from 'node:fs';

/** File descriptors a proxy needs besides its sessions' sockets: listeners, stdio, epoll, libuv. */
const RESERVED = 64;

/** The hard limit on open files of processes started from this one: they inherit it, and Node raises its soft limit to it at start. */
export function openFilesHardLimit(limits = readFileSync('/proc/self/limits', 'utf8')): number {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!line) throw new Error('/proc/self/limits has no "Max open files" line');
  return line[2] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(line[2]);
}

/** `wanted` idle sessions, or as many as the open-file limit allows, whichever is fewer. */
export function largestIdleCount(wanted: number, hardLimit = openFilesHardLimit()): number {
  return Math.min(wanted, Math.floor((hardLimit - RESERVED) / 2 / 10) * 10);
}
