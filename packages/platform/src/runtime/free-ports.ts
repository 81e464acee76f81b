import net from 'node:net';

/**
 * `count` TCP ports on 127.0.0.1 that the OS says are free right now (each bound to port 0, read,
 * released). For processes started beside a developer's `npm start` or beside each other: the
 * embedded platform in tests, the cluster shape, the benches.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
