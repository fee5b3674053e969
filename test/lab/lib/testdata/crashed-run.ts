// Lab test helper: builds a small lab, starts a process in it, prints what it made, then waits to be killed (a "crashed run"), or detaches and exits ('detach').
import { Lab } from '../index.js';

const lab = await Lab.create({
  prefix: process.argv[2] ?? 'labc',
  nodes: [{ name: 'a' }, { name: 'b', bridges: [{ name: 'br0' }] }],
  links: [{ a: { node: 'a', ifname: 'eth0', addrs: ['10.77.0.1/24'] }, b: { node: 'b', ifname: 'a', bridge: 'br0' } }],
});
const p = await lab.spawn('a', ['sleep', '600']);
console.log(JSON.stringify({ tag: lab.tag, dir: lab.dir, netns: lab.nodes.map((n) => n.netns), pid: p.pid }));
if (process.argv[3] === 'detach') {
  lab.detach(); // keep the lab after exit, like `edgelb lab demo --keep`
  process.exit(0);
}
setInterval(() => {}, 1 << 30);
