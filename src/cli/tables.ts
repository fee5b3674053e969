// Aligned text tables for `edgelb get`: one renderer, and one formatter per resource that reads
// the API's rows defensively (the agent's views may carry more or fewer fields than the defaults).

/** Columns padded to their widest cell, two spaces apart, no trailing spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A cell: lists joined by ",", booleans yes/no, nothing as "-". */
export function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length ? v.map(cell).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function port(p: unknown): string {
  const o = obj(p);
  const base = `${cell(o.port)}/${cell(o.protocol ?? 'tcp')}`;
  return o.targetPort !== undefined && o.targetPort !== o.port ? `${base}->${cell(o.targetPort)}` : base;
}

function duration(sec: unknown): string {
  if (typeof sec !== 'number') return '-';
  const s = Math.floor(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function servicesTable(rows: unknown): string {
  const data = list(rows).map(obj);
  return renderTable(
    ['NAME', 'VIPS', 'PORTS', 'MODE', 'POOL', 'SHARD', 'ENDPOINTS', 'HEALTHY'],
    data.map((s) => {
      const eps = list(s.endpoints).map(obj);
      const up = (e: Obj) => e.ready !== false && e.healthy !== false;
      const healthy = typeof s.healthyEndpoints === 'number' ? s.healthyEndpoints : eps.filter(up).length;
      return [
        cell(s.name),
        cell(s.vips ?? s.vip),
        list(s.ports).map(port).join(',') || '-',
        cell(s.mode),
        cell(s.pool),
        cell(s.shard),
        eps.map((e) => `${cell(e.address)}${up(e) ? '' : '(down)'}`).join(',') || '-',
        `${healthy}/${eps.length}`,
      ];
    }),
  );
}

function decision(d: unknown): string {
  const o = obj(d);
  if (o.announced === undefined) return '-';
  const med = typeof o.med === 'number' ? ` med ${o.med}` : '';
  return o.announced ? `yes${med}` : `no (${cell(o.reason)})`;
}

export function vipsTable(rows: unknown): string {
  const data = list(rows).map(obj);
  return renderTable(
    ['VIP', 'SERVICES', 'POOL', 'SHARD', 'MASTER', 'ANNOUNCE', 'BGP', 'L2'],
    data.map((v) => [
      cell(v.vip),
      cell(v.services),
      cell(v.pool),
      cell(v.shard),
      cell(v.master),
      `${cell(v.announce)}${v.bgpMode && v.announce !== 'l2' ? `/${cell(v.bgpMode)}` : ''}`,
      decision(v.bgp),
      decision(v.l2),
    ]),
  );
}

export function bgpTable(rows: unknown): string {
  const data = list(rows).map(obj);
  return renderTable(
    ['PEER', 'ASN', 'STATE', 'UPTIME', 'SENT', 'RECEIVED', 'LAST ERROR'],
    data.map((n) => [
      cell(n.address),
      cell(n.asn),
      cell(n.state),
      duration(n.uptimeSec),
      cell(n.prefixesSent),
      cell(n.prefixesReceived),
      cell(n.lastError),
    ]),
  );
}

export function haTable(view: unknown): string {
  const h = obj(view);
  let out = renderTable(['NODE', 'DRAINED'], [[cell(h.node), cell(h.drained)]]);
  const shards = list(h.shards).map(obj);
  if (shards.length) out += '\n' + renderTable(['SHARD', 'STATE', 'MASTER', 'EPOCH'], shards.map((s) => [cell(s.shard), cell(s.state), cell(s.master), cell(s.epoch)]));
  const members = list(h.members).map(obj);
  if (members.length) out += '\n' + renderTable(['MEMBER', 'ALIVE'], members.map((m) => [cell(m.address ?? m.name), cell(m.alive)]));
  return out;
}
