import { onnx } from 'onnx-proto';

/** Element types the demo models use, named as onnxruntime-node names them. */
export type ElementType = 'float32' | 'int64' | 'string';

/** A fixed size, or a symbolic name for a dynamic dimension. */
export type Dim = number | string;

const ONNX_ELEMENT_TYPE: Record<ElementType, onnx.TensorProto.DataType> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
};

/** A typed node attribute; build one with the helpers in `attr`. */
export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  floats: (value: readonly number[]): Attribute => ({ kind: 'floats', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
};

export interface OpsetImport {
  /** '' is the default ONNX domain; 'ai.onnx.ml' the traditional-ML one. */
  domain: string;
  version: number;
}

export interface ModelOptions {
  irVersion: number;
  opsetImports: readonly OpsetImport[];
  producerName: string;
  producerVersion: string;
  /** Shown by model viewers and kept by servers as the model's description. */
  docString?: string;
  /** Free-form key/value pairs stored in ModelProto.metadata_props. */
  metadata?: Readonly<Record<string, string>>;
}

const utf8 = new TextEncoder();

function assertShape(name: string, dims: readonly Dim[], length?: number): void {
  for (const d of dims) {
    if (typeof d === 'number' && (!Number.isInteger(d) || d < 0)) {
      throw new RangeError(`${name}: dimension ${d} is not a non-negative integer`);
    }
  }
  if (length === undefined) return;
  const expected = dims.reduce<number>((n, d) => n * (typeof d === 'number' ? d : NaN), 1);
  if (expected !== length) {
    throw new RangeError(`${name}: ${length} values do not fill shape [${dims.join(', ')}]`);
  }
}

function valueInfo(name: string, type: ElementType, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_ELEMENT_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attributeProto(name: string, a: Attribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: T.STRING, s: utf8.encode(a.value) };
  }
}

/** Little-endian bytes regardless of the host, so the serialised model is the same everywhere. */
function float32LittleEndian(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] ?? 0, true);
  return bytes;
}

/**
 * Builds one ONNX graph in order: declare inputs and initializers, add nodes (each may only consume
 * values already defined), declare outputs, then `toModel()` / `encode()`.
 */
export class GraphBuilder {
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly defined = new Set<string>();
  private readonly opCounts = new Map<string, number>();

  constructor(private readonly name: string) {}

  input(name: string, type: ElementType, dims: readonly Dim[]): string {
    assertShape(name, dims);
    this.define(name);
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** A float32 constant stored as raw little-endian data. */
  float32(name: string, data: Float32Array, dims: readonly number[]): string {
    assertShape(name, dims, data.length);
    this.define(name);
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_ELEMENT_TYPE.float32, rawData: float32LittleEndian(data) });
    return name;
  }

  int64(name: string, data: readonly number[], dims: readonly number[]): string {
    assertShape(name, dims, data.length);
    for (const v of data) {
      if (!Number.isSafeInteger(v)) throw new RangeError(`${name}: ${v} is not a safe integer`);
    }
    this.define(name);
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_ELEMENT_TYPE.int64, int64Data: [...data] });
    return name;
  }

  /** A UTF-8 string constant (ONNX STRING tensor). */
  strings(name: string, data: readonly string[], dims: readonly number[]): string {
    assertShape(name, dims, data.length);
    this.define(name);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: ONNX_ELEMENT_TYPE.string,
      stringData: data.map((s) => utf8.encode(s)),
    });
    return name;
  }

  /**
   * Appends `op` reading `inputs` and producing `outputs` (names, or a count for generated names);
   * returns the output names.
   */
  node(
    op: string,
    inputs: readonly string[],
    outputs: readonly string[] | number = 1,
    attributes: Readonly<Record<string, Attribute>> = {},
    domain = '',
  ): string[] {
    const index = this.opCounts.get(op) ?? 0;
    this.opCounts.set(op, index + 1);
    const nodeName = `${op.toLowerCase()}_${index}`;
    for (const input of inputs) {
      // '' marks an omitted optional input in ONNX
      if (input !== '' && !this.defined.has(input)) {
        throw new Error(`${nodeName}: input '${input}' is not defined before this node`);
      }
    }
    const outputNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, i) => (outputs === 1 ? nodeName : `${nodeName}_${i}`))
        : [...outputs];
    for (const output of outputNames) this.define(output);
    this.nodes.push({
      name: nodeName,
      opType: op,
      domain,
      input: [...inputs],
      output: outputNames,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    });
    return outputNames;
  }

  /** Like `node` for the common single-output case. */
  op(op: string, inputs: readonly string[], attributes: Readonly<Record<string, Attribute>> = {}, output?: string): string {
    const [out] = this.node(op, inputs, output === undefined ? 1 : [output], attributes);
    return out as string;
  }

  output(name: string, type: ElementType, dims: readonly Dim[]): void {
    assertShape(name, dims);
    if (!this.defined.has(name)) throw new Error(`graph output '${name}' is not produced by any node`);
    this.outputs.push(valueInfo(name, type, dims));
  }

  toModel(options: ModelOptions): onnx.IModelProto {
    if (this.outputs.length === 0) throw new Error(`graph '${this.name}' has no outputs`);
    return {
      irVersion: options.irVersion,
      opsetImport: options.opsetImports.map(({ domain, version }) => ({ domain, version })),
      producerName: options.producerName,
      producerVersion: options.producerVersion,
      docString: options.docString ?? '',
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  /** The serialised ModelProto (the bytes of a `model.onnx`). */
  encode(options: ModelOptions): Uint8Array {
    return onnx.ModelProto.encode(this.toModel(options)).finish();
  }

  private define(name: string): void {
    if (name === '') throw new Error('value names must not be empty');
    if (this.defined.has(name)) throw new Error(`value '${name}' is defined twice`);
    this.defined.add(name);
  }
}
