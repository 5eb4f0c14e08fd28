import { isRootUser, mountAt, parseTop, publishedPorts, serviceOf, type ContainerInspect } from './containers';

// Shapes as Docker 20.10 reports them for `docker run -p 127.0.0.1:18000:8000 -p 18005:8005
// --mount type=volume,source=fixt_models,target=/models,readonly -v /tmp:/hosttmp --user node …`.
function container(state: 'running' | 'exited'): ContainerInspect {
  const running = state === 'running';
  return {
    Id: 'c0ffee',
    Name: '/fixt_s1s_1',
    Config: { User: 'node', Image: 'node:20-bookworm-slim', Labels: { 'com.docker.compose.service': 's1s', 'com.docker.compose.project': 'fixt' } },
    State: { Status: state, Running: running, ExitCode: running ? 0 : 137 },
    HostConfig: {
      PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '18000' }], '8005/tcp': [{ HostIp: '', HostPort: '18005' }] },
    },
    NetworkSettings: {
      Ports: running
        ? {
            '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '18000' }],
            '8005/tcp': [
              { HostIp: '0.0.0.0', HostPort: '18005' },
              { HostIp: '::', HostPort: '18005' },
            ],
          }
        : {},
    },
    Mounts: [
      { Type: 'bind', Source: '/tmp', Destination: '/hosttmp', RW: true },
      { Type: 'volume', Name: 'fixt_models', Source: '/var/lib/docker/volumes/fixt_models/_data', Destination: '/models', RW: false },
    ],
  };
}

describe('publishedPorts', () => {
  it('lists the live bindings of a running container, every address of each', () => {
    expect(publishedPorts(container('running'))).toEqual([
      { containerPort: '8000/tcp', hostIp: '127.0.0.1', hostPort: 18000 },
      { containerPort: '8005/tcp', hostIp: '0.0.0.0', hostPort: 18005 },
      { containerPort: '8005/tcp', hostIp: '::', hostPort: 18005 },
    ]);
  });

  it('falls back to the requested bindings of a stopped container', () => {
    expect(publishedPorts(container('exited'))).toEqual([
      { containerPort: '8000/tcp', hostIp: '127.0.0.1', hostPort: 18000 },
      { containerPort: '8005/tcp', hostIp: '', hostPort: 18005 },
    ]);
  });

  it('is empty for a container that publishes nothing (exposed ports are not published)', () => {
    const c = container('running');
    c.HostConfig.PortBindings = {};
    c.NetworkSettings.Ports = { '8080/tcp': null, '8081/tcp': null };
    expect(publishedPorts(c)).toEqual([]);
  });
});

describe('mountAt / serviceOf', () => {
  it('finds the read-only models volume and the writable bind', () => {
    const c = container('running');
    expect(mountAt(c, '/models')).toMatchObject({ Type: 'volume', Name: 'fixt_models', RW: false });
    expect(mountAt(c, '/hosttmp')?.RW).toBe(true);
    expect(mountAt(c, '/elsewhere')).toBeUndefined();
  });

  it('names the compose service, and refuses a container compose did not create', () => {
    expect(serviceOf(container('running'))).toBe('s1s');
    expect(() => serviceOf({ ...container('running'), Config: { User: '', Image: 'x', Labels: null } })).toThrow(/com.docker.compose.service/);
  });
});

describe('isRootUser', () => {
  it.each([
    ['', true],
    ['root', true],
    ['0', true],
    ['0:0', true],
    ['root:node', true],
    ['node', false],
    ['1000', false],
    ['1000:1000', false],
    ['node:root', false],
  ])('%j → %s', (user, root) => {
    expect(isRootUser(user)).toBe(root);
  });
});

describe('parseTop', () => {
  it('reads uid, pid and the full command line', () => {
    const out = 'UID                 PID                 COMMAND\n1000                5843                node -e setInterval(()=>{},1000)\n0    17   /usr/bin/tini -- node /app/main.js\n';
    expect(parseTop(out)).toEqual([
      { uid: 1000, pid: 5843, command: 'node -e setInterval(()=>{},1000)' },
      { uid: 0, pid: 17, command: '/usr/bin/tini -- node /app/main.js' },
    ]);
  });

  it('rejects output without numeric uids (a `ps -o user` column would hide root behind a name)', () => {
    expect(() => parseTop('USER PID COMMAND\nroot 1 sh\n')).toThrow(/header/);
    expect(() => parseTop('UID PID COMMAND\nroot 1 sh\n')).toThrow(/numeric UID/);
  });
});
