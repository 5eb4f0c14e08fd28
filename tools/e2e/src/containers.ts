// Facts the e2e checks read from `docker inspect` and `docker top`, as plain functions of their output.

/** The part of `docker inspect <container>` the checks read. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  Config: { User: string; Image: string; Labels: Record<string, string> | null };
  State: { Status: string; Running: boolean; ExitCode: number; Health?: { Status: string } };
  HostConfig: { PortBindings: Record<string, { HostIp: string; HostPort: string }[] | null> | null; NetworkMode?: string };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null };
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
}

export interface PublishedPort {
  /** `8000/tcp` */
  readonly containerPort: string;
  readonly hostIp: string;
  readonly hostPort: number;
}

/** The compose service a container belongs to (compose's `com.docker.compose.service` label). */
export function serviceOf(container: ContainerInspect): string {
  const service = container.Config.Labels?.['com.docker.compose.service'];
  if (service === undefined) throw new Error(`container ${container.Name} has no com.docker.compose.service label`);
  return service;
}

/**
 * Ports published on the host: the live bindings of a running container, else the requested ones
 * (a stopped container keeps HostConfig.PortBindings but loses NetworkSettings.Ports).
 */
export function publishedPorts(container: ContainerInspect): PublishedPort[] {
  const bindings = container.State.Running ? container.NetworkSettings.Ports : container.HostConfig.PortBindings;
  const ports: PublishedPort[] = [];
  for (const [containerPort, hostBindings] of Object.entries(bindings ?? {})) {
    for (const b of hostBindings ?? []) ports.push({ containerPort, hostIp: b.HostIp, hostPort: Number(b.HostPort) });
  }
  const key = (p: PublishedPort) => `${p.containerPort} ${p.hostIp}`;
  return ports.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The mount at `destination` inside the container, if any. */
export function mountAt(container: ContainerInspect, destination: string): ContainerInspect['Mounts'][number] | undefined {
  return container.Mounts.find((m) => m.Destination === destination);
}

/** True when a `User` setting (image or container) means uid 0: unset, `root`, `0`, with or without a group. */
export function isRootUser(user: string): boolean {
  const name = user.split(':')[0] ?? '';
  return name === '' || name === 'root' || name === '0';
}

export interface ProcessEntry {
  readonly uid: number;
  readonly pid: number;
  readonly command: string;
}

/** Parses `docker top <container> -eo uid,pid,args` (a header line, then one line per process). */
export function parseTop(output: string): ProcessEntry[] {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift()?.trim().split(/\s+/);
  if (header?.[0] !== 'UID' || header[1] !== 'PID') throw new Error(`unexpected docker top header: ${JSON.stringify(header)}`);
  return lines.map((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected docker top line (expected a numeric UID): ${JSON.stringify(line)}`);
    return { uid: Number(m[1]), pid: Number(m[2]), command: (m[3] ?? '').trim() };
  });
}
