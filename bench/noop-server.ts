// The transport floor for the extender benchmark: an HTTP server in its own process that parses the
// request and answers a HostPriorityList of the same size without deciding anything. What the
// extender adds is its latency minus this.
import { createServer } from 'node:http';

const count = Number(process.argv[2]);
const answer = JSON.stringify(Array.from({ length: count }, (_, i) => ({ Host: `node-${i + 1}`, Score: 0 })));
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(typeof address === 'object' && address ? address.port : 0);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
