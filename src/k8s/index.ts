// The Kubernetes source's public surface: what the CLI wires into `edgelb daemon --kubernetes`.
export { KubernetesSource, type KubernetesSourceOptions, type NodeStatusSource, type NeighborStatus } from './source.js';
export { translate, type ClusterView, type Problem, type ServicePlan } from './translate.js';
export { Ipam, type AssignResult, type IpamPool } from './ipam.js';
export { LB_CLASS, CONDITION_TYPE } from './annotations.js';
