// The admin console's calls: the admin-only parts of the API, typed from their schemas (type-only
// imports: no schema code reaches the bundle).
import type { Static } from 'typebox';
import type { DesktopFigures, HypervisorHealth, UserSummary } from '../../../contract/api/admin.js';
import type { AuditEntry as AuditEntrySchema } from '../../../contract/api/audit.js';
import type { PinnedCertificate as PinnedCertificateSchema } from '../../../contract/api/rdp-certificates.js';
import type { DesktopSummary } from '../../../contract/api/desktops.js';
import type { LiveSessionSummary } from '../../../contract/api/sessions.js';
import type { Principal } from '../../../contract/api/sign-in.js';
import { call } from '../api.js';

export type { DesktopFigures, DesktopSummary, HypervisorHealth, LiveSessionSummary, Principal, UserSummary };

export type AuditEntry = Static<typeof AuditEntrySchema>;
export type PinnedCertificate = Static<typeof PinnedCertificateSchema>;

const path = encodeURIComponent;

export const adminApi = {
  me: () => call<Principal>('GET', '/api/me'),
  sessions: () => call<LiveSessionSummary[]>('GET', '/api/sessions'),
  endSession: (id: string) => call<void>('DELETE', `/api/sessions/${path(id)}`),
  users: () => call<UserSummary[]>('GET', '/api/users'),
  endUser: (name: string) => call<{ signIns: number; displaySessions: number }>('DELETE', `/api/users/${path(name)}/sessions`),
  hypervisors: () => call<HypervisorHealth[]>('GET', '/api/hypervisors'),
  desktops: () => call<DesktopSummary[]>('GET', '/api/desktops'),
  figures: () => call<DesktopFigures[]>('GET', '/api/desktops/figures'),
  audit: (query: { since?: string; user?: string; desktop?: string }) => {
    const search = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => Boolean(e[1])));
    return call<AuditEntry[]>('GET', `/api/audit${search.size ? `?${search}` : ''}`);
  },
  pins: () => call<PinnedCertificate[]>('GET', '/api/rdp/certificates'),
  forgetPin: (desktop: string) => call<void>('DELETE', `/api/rdp/certificates/${path(desktop)}`),
};
