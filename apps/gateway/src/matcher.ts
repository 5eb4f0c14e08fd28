// Routing config compiled once into matcher objects; the request path only calls `apply`.

export interface Matcher<I, O> {
  apply(input: I): O | undefined;
  toString(): string;
}

/** `model-id` metadata value → the route of that model (exact match). */
export class ModelIdMatcher<R> implements Matcher<string, R> {
  private readonly byId: ReadonlyMap<string, R>;

  constructor(entries: Iterable<readonly [string, R]>) {
    this.byId = new Map(entries);
  }

  apply(modelId: string): R | undefined {
    return this.byId.get(modelId);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  toString(): string {
    return `model-id in {${this.ids.join(', ')}}`;
  }
}

// KServe v2: /v2/models/<name>[/versions/<v>]/...; TF Serving: /v1/models/<name>[/versions/<v>|/labels/<l>][:verb]
const REST_MODEL_PATH = /^\/v([12])\/models\/([^/:?]+)/;

/** REST path → the model name it addresses (URL-decoded), for calls without a `model-id` header. */
export class RestPathMatcher implements Matcher<string, string> {
  apply(path: string): string | undefined {
    const m = REST_MODEL_PATH.exec(path);
    if (!m) return undefined;
    try {
      return decodeURIComponent(m[2] as string);
    } catch {
      return undefined;
    }
  }

  toString(): string {
    return 'path /v2/models/<id>/… (KServe) or /v1/models/<id>… (TF Serving)';
  }
}
