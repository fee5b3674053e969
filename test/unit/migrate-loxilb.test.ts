// `edgelb migrate kube-loxilb`: BGPPeerService, the kube-loxilb Deployment's flags, and Services
// with loxilb.io/* annotations; one row per mapping and per thing that cannot be carried over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../src/migrate/loxilb.js';
import { checkRow, type Row } from './migrate-lib.js';

const bps = (name: string, spec: string, v = 'bgppeer.loxilb.io/v1') => `---\napiVersion: ${v}\nkind: BGPPeerService\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const deploy = (args: string[], name = 'kube-loxilb', kind = 'Deployment') =>
  `---\napiVersion: apps/v1\nkind: ${kind}\nmetadata: { name: kube-loxilb, namespace: kube-system }\nspec:\n  template:\n    spec:\n      containers:\n        - name: ${name}\n          image: example/agent:1\n          args: ${JSON.stringify(args)}\n`;
const svc = (name: string, ann: Record<string, string>, extra = 'loadBalancerClass: loxilb.io/loxilb', ports = '[{ port: 80 }]') =>
  `---\napiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: web, annotations: ${JSON.stringify(ann)} }\nspec: { type: LoadBalancer, ${extra ? `${extra}, ` : ''}ports: ${ports} }\n`;
const pool = (extra: Record<string, unknown> = {}) => ({ avoidBuggyIPs: false, announce: 'bgp', bgpMode: 'ecmp', ...extra });
const BGP = '--setBGP=65010';

const ROWS: Row[] = [
  { desc: 'BGPPeerService → BGPPeer', yaml: bps('up', '{ ipAddress: 100.64.0.9, remoteAs: 65009, remotePort: 179 }'), objects: [['BGPPeer', 'up', { address: '100.64.0.9', asn: 65009 }]], notes: [['info', '', /reads BGPPeerService objects as they are/]], lost: 0 },
  { desc: 'BGPPeerService: port and 32-bit AS', yaml: bps('up', '{ ipAddress: "2001:db8::9", remoteAs: 4200000000, remotePort: 1179 }'), objects: [['BGPPeer', 'up', { address: '2001:db8::9', asn: 4200000000, port: 1179 }]] },
  { desc: 'BGPPeerService: not an IP', yaml: bps('up', '{ ipAddress: router, remoteAs: 1 }'), absent: [['BGPPeer', 'up']], notes: [['lost', 'spec.ipAddress', /not an IP address; not converted/]] },
  { desc: 'BGPPeerService: remoteAs 0', yaml: bps('up', '{ ipAddress: 10.0.0.1, remoteAs: 0 }'), absent: [['BGPPeer', 'up']], notes: [['lost', 'spec.remoteAs', /not a whole number/]] },
  { desc: 'BGPPeerService: remotePort 70000', yaml: bps('up', '{ ipAddress: 10.0.0.1, remoteAs: 1, remotePort: 70000 }'), objects: [['BGPPeer', 'up', { address: '10.0.0.1', asn: 1 }]], notes: [['lost', 'spec.remotePort', /not a whole number/]] },
  { desc: 'BGPPeerService: an unknown field', yaml: bps('up', '{ ipAddress: 10.0.0.1, remoteAs: 1, holdTime: 3 }'), notes: [['lost', 'spec.holdTime', /not a field of BGPPeerService/]] },
  { desc: 'BGPPeerService: unknown apiVersion', yaml: bps('up', '{ ipAddress: 10.0.0.1, remoteAs: 1 }', 'bgppeer.loxilb.io/v2'), absent: [['BGPPeer', 'up']], notes: [['lost', 'apiVersion', /unknown apiVersion for BGPPeerService/]] },
  { desc: 'deployment: --cidrPools with a CIDR and a range', yaml: deploy([BGP, '--cidrPools=main=100.64.10.0/24,side=100.64.20.10-100.64.20.40']), objects: [['IPPool', 'main', pool({ cidrs: ['100.64.10.0/24'] })], ['IPPool', 'side', pool({ ranges: ['100.64.20.10-100.64.20.40'] })]] },
  { desc: 'deployment: --cidrPools and --cidr6Pools of one name make one pool', yaml: deploy([BGP, '--cidrPools=main=100.64.10.0/24', '--cidr6Pools=main=2001:db8:10::/120']), objects: [['IPPool', 'main', pool({ cidrs: ['100.64.10.0/24', '2001:db8:10::/120'] })]] },
  { desc: 'deployment: pool names lower-cased with a note', yaml: deploy([BGP, '--cidrPools=defaultPool=100.64.10.0/24']), objects: [['IPPool', 'defaultpool', pool({ cidrs: ['100.64.10.0/24'] })]], notes: [['info', /--cidrPools$/, /named defaultpool/]] },
  { desc: 'deployment: a host-bits CIDR as kube-loxilb writes it', yaml: deploy([BGP, '--externalCIDR=123.123.123.1/24']), objects: [['IPPool', 'defaultpool', pool({ cidrs: ['123.123.123.0/24'] })]], notes: [['info', /--externalCIDR$/, /host bits set/]] },
  { desc: 'deployment: --externalCIDR6', yaml: deploy([BGP, '--externalCIDR6=3ffe::1/96']), objects: [['IPPool', 'defaultpool', pool({ cidrs: ['3ffe::/96'] })]] },
  { desc: 'deployment: a bad cidrPools entry', yaml: deploy([BGP, '--cidrPools=nonsense,ok=10.0.0.0/28']), objects: [['IPPool', 'ok', pool({ cidrs: ['10.0.0.0/28'] })]], notes: [['lost', /--cidrPools$/, /"nonsense" is not name=CIDR/]] },
  { desc: 'deployment: a range that ends before it starts', yaml: deploy([BGP, '--cidrPools=p=10.0.0.9-10.0.0.1']), absent: [['IPPool', 'p']], notes: [['lost', /--cidrPools$/, /ends before it starts/]] },
  { desc: 'deployment: no --setBGP: pools by L2', yaml: deploy(['--cidrPools=p=10.0.0.0/28']), objects: [['IPPool', 'p', pool({ cidrs: ['10.0.0.0/28'], announce: 'l2' })]], notes: [['info', /--setBGP$/, /announced by L2/]] },
  { desc: 'deployment: --setBGP → bgp.asn', yaml: deploy([BGP]), notes: [['todo', /--setBGP$/, /set bgp.asn: 65010 in the edgelb ConfigMap/]] },
  { desc: 'deployment: --setBGP not a number', yaml: deploy(['--setBGP=lots']), notes: [['lost', /--setBGP$/, /not an AS number/]] },
  { desc: 'deployment: --listenBGPPort', yaml: deploy(['--listenBGPPort=1791']), notes: [['todo', /--listenBGPPort$/, /bgp.listenPort: 1791/]] },
  { desc: 'deployment: --extBGPPeers IPv4 and bracketed IPv6, with --eBGPMultiHop', yaml: deploy([BGP, '--extBGPPeers=50.50.50.1:65101,[2001:db8::1]:65102', '--eBGPMultiHop']), objects: [['BGPPeer', 'loxilb-ext-50.50.50.1', { address: '50.50.50.1', asn: 65101, ebgpMultihop: 255 }], ['BGPPeer', 'loxilb-ext-2001-db8-1', { address: '2001:db8::1', asn: 65102, ebgpMultihop: 255 }]] },
  { desc: 'deployment: --extBGPPeers without multihop', yaml: deploy([BGP, '--extBGPPeers', '50.50.50.1:65101']), objects: [['BGPPeer', 'loxilb-ext-50.50.50.1', { address: '50.50.50.1', asn: 65101 }]] },
  { desc: 'deployment: a bad --extBGPPeers entry', yaml: deploy([BGP, '--extBGPPeers=50.50.50.1,1.1.1.1:0']), notes: [['lost', /--extBGPPeers$/, /"50.50.50.1" is not address:AS/], ['lost', /--extBGPPeers$/, /"1.1.1.1:0" is not address:AS/]] },
  { desc: 'deployment: --setLBMode=0 → dnat', yaml: deploy(['--setLBMode=0']), notes: [['todo', /--setLBMode$/, /--default-lbmode dnat/]] },
  { desc: 'deployment: --setLBMode=1 → onearm', yaml: deploy(['--setLBMode=1']), notes: [['todo', /--setLBMode$/, /--default-lbmode onearm/]] },
  { desc: 'deployment: --setLBMode=2 → fullnat', yaml: deploy(['--setLBMode=2']), notes: [['todo', /--setLBMode$/, /--default-lbmode fullnat/]] },
  { desc: 'deployment: --setLBMode=3 → dsr', yaml: deploy(['--setLBMode=3']), notes: [['todo', /--setLBMode$/, /--default-lbmode dsr/]] },
  { desc: 'deployment: --setLBMode=4 (fullproxy) has no equivalent', yaml: deploy(['--setLBMode=4']), notes: [['lost', /--setLBMode$/, /fullproxy.*no edgelb equivalent/]] },
  { desc: 'deployment: --setLBMode=x', yaml: deploy(['--setLBMode=x']), notes: [['lost', /--setLBMode$/, /no edgelb equivalent/]] },
  { desc: 'deployment: no --setLBMode: keep dnat', yaml: deploy([]), notes: [['todo', /--setLBMode$/, /kube-loxilb's default is dnat/]] },
  { desc: 'deployment: --numZoneInstances → cluster.shards', yaml: deploy(['--numZoneInstances=3']), notes: [['todo', /--numZoneInstances$/, /cluster.shards: 3/]] },
  { desc: 'deployment: --numZoneInstances=0', yaml: deploy(['--numZoneInstances=0']), notes: [['lost', /--numZoneInstances$/, /not 1..4096/]] },
  { desc: 'deployment: --setUniqueIP=true says nothing of sharing', yaml: deploy(['--setUniqueIP=true']), lost: 0 },
  { desc: 'deployment: shared IPs by default differ', yaml: deploy([]), notes: [['info', /--setUniqueIP$/, /shared one address/]] },
  { desc: 'deployment: --monitor → liveness per Service', yaml: deploy(['--monitor']), notes: [['todo', /--monitor$/, /loxilb.io\/liveness/]] },
  { desc: 'deployment: --setRoles', yaml: deploy(['--setRoles=0.0.0.0']), notes: [['info', /--setRoles$/, /master per shard/]], lost: 0 },
  { desc: 'deployment: --externalSecondaryCIDRs', yaml: deploy(['--externalSecondaryCIDRs=1.1.1.0/24']), notes: [['lost', /--externalSecondaryCIDRs$/, /SCTP multi-homing/]] },
  { desc: 'deployment: --gatewayAPI', yaml: deploy(['--gatewayAPI']), notes: [['lost', /--gatewayAPI$/, /Gateway API/]] },
  { desc: 'deployment: --privateCIDR', yaml: deploy(['--privateCIDR=10.0.0.0/24']), notes: [['lost', /--privateCIDR$/, /AWS/]] },
  { desc: 'deployment: --excludeRoleList', yaml: deploy(['--excludeRoleList=10.0.0.1']), notes: [['lost', /--excludeRoleList$/, /exclude-from-external-load-balancers/]] },
  { desc: 'deployment: --config file', yaml: deploy(['--config=/opt/loxilb/agent/kube-loxilb.conf']), notes: [['lost', /--config$/, /not read by this converter/]] },
  { desc: 'deployment: --loxiURL not needed', yaml: deploy(['--loxiURL=http://1.2.3.4:11111']), notes: [['info', /--loxiURL$/, /not needed/]], lost: 0 },
  { desc: 'deployment: an unknown flag', yaml: deploy(['--turbo=yes']), notes: [['lost', /--turbo$/, /not a kube-loxilb flag edgelb knows/]] },
  { desc: 'deployment: found by its flags when the container has another name', yaml: deploy([BGP, '--cidrPools=p=10.0.0.0/28'], 'agent'), objects: [['IPPool', 'p', pool({ cidrs: ['10.0.0.0/28'] })]] },
  { desc: 'deployment: no kube-loxilb container', yaml: deploy(['--foo'], 'nginx'), notes: [['lost', 'spec.template.spec.containers', /no kube-loxilb container/]] },
  { desc: 'deployment: as a DaemonSet too', yaml: deploy([BGP, '--cidrPools=p=10.0.0.0/28'], 'kube-loxilb', 'DaemonSet'), objects: [['IPPool', 'p', pool({ cidrs: ['10.0.0.0/28'] })]] },
  { desc: 'service: of class loxilb.io/loxilb must be recreated, keeping its address', yaml: svc('a', {}).replace('ports: [{ port: 80 }] }', 'ports: [{ port: 80 }] }\nstatus: { loadBalancer: { ingress: [{ ip: 100.64.0.7 }] } }'), notes: [['todo', 'spec.loadBalancerClass', /cannot be changed on a Service.*edgelb.io\/edgelb and the annotation edgelb.io\/staticIP: "100.64.0.7"/]] },
  { desc: 'service: without a class needs --default-class', yaml: svc('a', {}, ''), notes: [['todo', 'spec.loadBalancerClass', /--default-class/]] },
  { desc: 'service: of edgelb class already', yaml: svc('a', {}, 'loadBalancerClass: edgelb.io/edgelb'), notes: [['info', 'spec.loadBalancerClass', /already edgelb's class/]] },
  { desc: 'service: native annotations', yaml: svc('a', { 'loxilb.io/lbmode': 'fullnat', 'loxilb.io/liveness': 'yes', 'loxilb.io/timeout': '60', 'loxilb.io/staticIP': '1.2.3.4', 'loxilb.io/zoneinstance': 'llb-inst1', 'loxilb.io/ipam': 'ipv6to4', 'loxilb.io/epselect': 'persist' }), notes: [['info', 'metadata.annotations["loxilb.io/lbmode"]', /read by edgelb as it is/], ['info', 'metadata.annotations["loxilb.io/ipam"]', /as it is/]], lost: 0 },
  { desc: 'service: poolSelect → edgelb.io/pool', yaml: svc('a', { 'loxilb.io/poolSelect': 'edgePool' }), notes: [['todo', 'metadata.annotations["loxilb.io/poolSelect"]', /edgelb.io\/pool: edgepool/]] },
  { desc: 'service: lbmode fullproxy', yaml: svc('a', { 'loxilb.io/lbmode': 'fullproxy' }), notes: [['lost', 'metadata.annotations["loxilb.io/lbmode"]', /"fullproxy" is not one edgelb has/]] },
  { desc: 'service: epselect n2', yaml: svc('a', { 'loxilb.io/epselect': 'n2' }), notes: [['lost', 'metadata.annotations["loxilb.io/epselect"]', /"n2" is not one edgelb has/]] },
  { desc: 'service: probetype sctp', yaml: svc('a', { 'loxilb.io/probetype': 'sctp' }), notes: [['lost', 'metadata.annotations["loxilb.io/probetype"]', /SCTP probes/]] },
  { desc: 'service: multus-nets', yaml: svc('a', { 'loxilb.io/multus-nets': 'macvlan1' }), notes: [['lost', 'metadata.annotations["loxilb.io/multus-nets"]', /Multus/]] },
  { desc: 'service: mtls', yaml: svc('a', { 'loxilb.io/mtls-frontend-secret': 's' }), notes: [['lost', 'metadata.annotations["loxilb.io/mtls-frontend-secret"]', /no TLS/]] },
  { desc: 'service: an unknown loxilb annotation', yaml: svc('a', { 'loxilb.io/sparkle': 'yes' }), notes: [['lost', 'metadata.annotations["loxilb.io/sparkle"]', /not read by edgelb/]] },
  { desc: 'service: an SCTP port', yaml: svc('a', {}, 'loadBalancerClass: loxilb.io/loxilb', '[{ port: 3868, protocol: SCTP }]'), notes: [['lost', 'spec.ports[0]', /SCTP is not served/]] },
  { desc: 'service: no epselect: round robin differs', yaml: svc('a', {}), notes: [['info', 'metadata.annotations', /edgelb.io\/epselect: rr/]] },
  { desc: 'service: not a LoadBalancer', yaml: svc('a', {}, 'loadBalancerClass: x').replace('type: LoadBalancer', 'type: NodePort'), notes: [['info', 'spec.type', /not of type LoadBalancer/]], lost: 0 },
  { desc: 'kube-loxilb BGP policy CRDs are not converted', yaml: 'apiVersion: bgppolicydefinition.loxilb.io/v1\nkind: BGPPolicyDefinitionService\nmetadata: { name: p }\n', notes: [['lost', '', /write the same as an edgelb BGPPolicy/]] },
  { desc: 'another kube-loxilb kind', yaml: 'apiVersion: loxiurl.loxilb.io/v1\nkind: LoxiURL\nmetadata: { name: u }\n', notes: [['lost', '', /LoxiURL is not one edgelb converts/]] },
  { desc: 'a MetalLB object given to kube-loxilb', yaml: 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: { name: p }\n', notes: [['lost', '', /edgelb migrate metallb/]] },
  { desc: 'a BGPPeerService and an ext peer of one address: the first wins', yaml: bps('up', '{ ipAddress: 50.50.50.1, remoteAs: 1 }') + deploy([BGP, '--extBGPPeers=50.50.50.1:65101']), notes: [['lost', 'address', /a second BGPPeer for 50.50.50.1/]] },
];

for (const row of ROWS) test(`migrate kube-loxilb: ${row.desc}`, () => checkRow('kube-loxilb', row));

test('migrate kube-loxilb: argument forms --a=b, --a b, -a=b, bare booleans', () => {
  assert.deepEqual(
    parseArgs(['--setBGP=1', '--cidrPools', 'p=1.0.0.0/8', '-setLBMode=2', '--monitor', '--numZoneInstances', '3', 'stray', '--eBGPMultiHop', '--x']).map((f) => [f.name, f.value]),
    [['setBGP', '1'], ['cidrPools', 'p=1.0.0.0/8'], ['setLBMode', '2'], ['monitor', undefined], ['numZoneInstances', '3'], ['eBGPMultiHop', undefined], ['x', undefined]],
  );
});
