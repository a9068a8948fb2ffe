// Headers the API answers with beside a body (no schema code here: the web client imports it).

/** Names the hypervisors whose desktops are missing from a list because they could not be read. */
export const UNREACHABLE_HEADER = 'porthole-unreachable-hypervisors';
