// Aligned text tables for `edgelb get`: one renderer, and one formatter per view of the REST
// contract (model/views.ts). The client checks every row against the contract before it gets here.
import type { AnnounceDecision, BfdRow, HaRow, NeighborErrorRow, NeighborRow, ServicePortRow, ServiceRow, VipRow } from '../model/views.js';

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

/** A cell: lists joined by ",", booleans yes/no, nothing as "-". */
export function cell(v: string | number | boolean | null | undefined | readonly string[]): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.length ? v.join(',') : '-';
  return String(v);
}

function port(p: ServicePortRow): string {
  const base = `${p.port}/${p.protocol}`;
  return p.targetPort !== p.port ? `${base}->${p.targetPort}` : base;
}

function duration(sec: number): string {
  const s = Math.floor(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** A table before rendering: its headers and rows of cells. */
export interface Columns {
  headers: string[];
  rows: string[][];
}

export function servicesTable(rows: readonly ServiceRow[]): string {
  const c = servicesColumns(rows);
  return renderTable(c.headers, c.rows);
}

export function servicesColumns(rows: readonly ServiceRow[]): Columns {
  return {
    headers: ['NAME', 'VIPS', 'PORTS', 'MODE', 'POOL', 'SHARD', 'ENDPOINTS', 'HEALTHY'],
    rows: rows.map((s) => {
      const up = (e: ServiceRow['endpoints'][number]) => e.ready && e.healthy !== false;
      const healthy = s.healthyEndpoints ?? s.endpoints.filter(up).length;
      return [
        cell(s.name),
        cell(s.vips),
        s.ports.map(port).join(',') || '-',
        cell(s.mode),
        cell(s.pool),
        cell(s.shard),
        s.endpoints.map((e) => `${e.address}${up(e) ? '' : '(down)'}`).join(',') || '-',
        `${healthy}/${s.endpoints.length}`,
      ];
    }),
  };
}

function decision(d: AnnounceDecision & { med?: number }): string {
  const med = d.med !== undefined ? ` med ${d.med}` : '';
  return d.announced ? `yes${med}` : `no (${cell(d.reason)})`;
}

export function vipsTable(rows: readonly VipRow[]): string {
  const c = vipsColumns(rows);
  return renderTable(c.headers, c.rows);
}

export function vipsColumns(rows: readonly VipRow[]): Columns {
  return {
    headers: ['VIP', 'SERVICES', 'POOL', 'SHARD', 'MASTER', 'ANNOUNCE', 'BGP', 'L2'],
    rows: rows.map((v) => [
      cell(v.vip),
      cell(v.services),
      cell(v.pool),
      cell(v.shard),
      cell(v.master),
      `${v.announce}${v.announce !== 'l2' ? `/${v.bgpMode}` : ''}`,
      decision(v.bgp),
      decision(v.l2),
    ]),
  };
}

/** "hold-timer-expired (NOTIFICATION 4/0)": the reason, and the NOTIFICATION when there was one. */
export function neighborError(e: NeighborErrorRow | null): string {
  if (!e) return '-';
  return `${e.reason}${e.code !== undefined ? ` (NOTIFICATION ${e.code}/${e.subcode ?? 0})` : ''}`;
}

export function bgpTable(rows: readonly NeighborRow[]): string {
  const c = bgpColumns(rows);
  return renderTable(c.headers, c.rows);
}

export function bgpColumns(rows: readonly NeighborRow[]): Columns {
  return {
    headers: ['PEER', 'ASN', 'STATE', 'UPTIME', 'SENT', 'RECEIVED', 'LAST ERROR'],
    rows: rows.map((n) => [cell(n.address), cell(n.asn), cell(n.state), duration(n.uptime), cell(n.prefixesSent), cell(n.prefixesReceived), neighborError(n.lastError)]),
  };
}

/** One node's shards as rows (the --all-nodes form of `get ha`). */
export function haColumns(h: HaRow): Columns {
  return {
    headers: ['DRAINED', 'SHARD', 'STATE', 'MASTER', 'EPOCH'],
    rows: h.shards.length ? h.shards.map((s) => [cell(h.drained), cell(s.shard), cell(s.state), cell(s.master), cell(s.epoch)]) : [[cell(h.drained)]],
  };
}

export function haTable(h: HaRow): string {
  let out = renderTable(['NODE', 'DRAINED'], [[cell(h.node), cell(h.drained)]]);
  if (h.shards.length) out += '\n' + renderTable(['SHARD', 'STATE', 'MASTER', 'EPOCH'], h.shards.map((s) => [cell(s.shard), cell(s.state), cell(s.master), cell(s.epoch)]));
  const members = h.members ?? [];
  if (members.length) out += '\n' + renderTable(['MEMBER', 'ALIVE'], members.map((m) => [cell(m.address), cell(m.alive)]));
  return out;
}

/** `edgelb get bfd`: one line per session; intervals as negotiated (tx / detection). */
export function bfdTable(rows: readonly BfdRow[]): string {
  const c = bfdColumns(rows);
  return renderTable(c.headers, c.rows);
}

export function bfdColumns(rows: readonly BfdRow[]): Columns {
  return {
    headers: ['PEER', 'HOP', 'STATE', 'REMOTE', 'TX', 'DETECT', 'MULT', 'AUTH', 'UPTIME', 'FLAPS', 'DIAG'],
    rows: rows.map((b) => [
      cell(b.peer),
      b.multihop ? 'multi' : 'single',
      cell(b.state),
      cell(b.remoteState),
      b.txIntervalMs ? `${b.txIntervalMs}ms` : '-',
      b.detectTimeMs ? `${b.detectTimeMs}ms` : '-',
      `${b.multiplier}/${b.remoteMultiplier || '-'}`,
      cell(b.auth),
      duration(b.upSeconds),
      cell(b.flaps),
      cell(b.diag),
    ]),
  };
}
