// Shapes shared by the converters of `edgelb migrate`: the objects read (any YAML map), the notes
// about what could not be carried over, and the converted objects with where they came from.

/** One object as read from the user's files (a YAML map; nothing about it is trusted). */
export interface SourceObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  /** The whole object as parsed. */
  raw: Record<string, unknown>;
  /** "file.yaml" or "file.yaml#3" (the 1-based document number when there are several). */
  file: string;
}

/**
 * lost: could not be carried over (the exit code says so);
 * todo: carried over as something the user must do elsewhere (a ConfigMap key, a daemon flag, a Secret to copy);
 * info: carried over, but it behaves differently or is read natively.
 */
export type NoteKind = 'lost' | 'todo' | 'info';

export interface Note {
  kind: NoteKind;
  /** "metallb.io/v1beta2 BGPPeer metallb-system/tor (peers.yaml)" */
  source: string;
  /** The field of the source object, "spec.vrf" ("" for the whole object). */
  field: string;
  message: string;
}

/** An edgelb object to print, with the objects it came from and the notes that belong to it. */
export interface Converted {
  obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
  from: string[];
  notes: Note[];
}

export interface Migration {
  objects: Converted[];
  /** Notes that belong to no converted object (skipped objects, node settings, Services). */
  notes: Note[];
}

export type SourceKind = 'metallb' | 'kube-loxilb';

/** Describe a source object for notes and comments. */
export function describe(o: SourceObject): string {
  const id = o.namespace ? `${o.namespace}/${o.name}` : o.name;
  return `${o.apiVersion} ${o.kind} ${id} (${o.file})`;
}

/** Collects notes for one source object. */
export class Notes {
  readonly list: Note[] = [];
  constructor(private readonly source: string) {}
  lost(field: string, message: string): void {
    this.list.push({ kind: 'lost', source: this.source, field, message });
  }
  todo(field: string, message: string): void {
    this.list.push({ kind: 'todo', source: this.source, field, message });
  }
  info(field: string, message: string): void {
    this.list.push({ kind: 'info', source: this.source, field, message });
  }
}
