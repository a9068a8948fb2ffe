// Parses PORTHOLE_LIBVIRT: comma-separated libvirt URIs, each optionally named as `name=URI`.

export interface HypervisorSpec {
  name: string;
  uri: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** An unnamed hypervisor is named after its URI's host, or `local` when the URI has none. */
function defaultName(uri: string): string {
  const match = /^[a-z0-9+.-]+:\/\/([^/?#]*)/i.exec(uri);
  if (!match) throw new Error(`"${uri}" is not a libvirt URI (expected e.g. qemu:///system)`);
  const authority = match[1]!;
  const host = authority
    .replace(/^[^@]*@/, '')
    .replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '');
  return host === '' ? 'local' : host;
}

export function parseHypervisors(value: string | readonly string[]): HypervisorSpec[] {
  const items = (typeof value === 'string' ? value.split(',') : [...value]).map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new Error('no hypervisor configured (PORTHOLE_LIBVIRT is empty)');
  const specs = items.map((item): HypervisorSpec => {
    // `name=URI`, but a URI may itself contain `=` in its query, so only a leading name counts.
    const named = /^([^:/=]+)=(.+)$/.exec(item);
    const uri = named ? named[2]! : item;
    const name = named ? named[1]! : defaultName(uri);
    if (!NAME.test(name)) throw new Error(`hypervisor name "${name}" must be letters, digits, dot, dash or underscore`);
    defaultName(uri); // validates the URI's shape
    return { name, uri };
  });
  const seen = new Set<string>();
  for (const { name } of specs) {
    if (seen.has(name)) throw new Error(`two hypervisors are named "${name}": name them with name=URI`);
    seen.add(name);
  }
  return specs;
}

/** The host a display listening on a wildcard address is reached at: the hypervisor's own host. */
export function hostOfUri(uri: string): string {
  const name = defaultName(uri);
  return name === 'local' ? '127.0.0.1' : name;
}
