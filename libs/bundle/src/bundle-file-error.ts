/** One problem in a bundle file; line and column are 1-based. */
export interface BundleIssue {
  file: string;
  line: number;
  column: number;
  /** Field path such as `models.demo.models[0].modelSgn`; empty for the whole document. */
  path: string;
  message: string;
}

/** `file:line:col: path: message`, the shape editors and CI logs link to. */
export function formatIssue(issue: BundleIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.path === '' ? '(root)' : issue.path}: ${issue.message}`;
}

/** Every problem found in one or more bundle files, all at once. */
export class BundleFileError extends Error {
  override readonly name = 'BundleFileError';
  readonly issues: readonly BundleIssue[];

  constructor(issues: readonly BundleIssue[]) {
    if (issues.length === 0) throw new RangeError('BundleFileError needs at least one issue');
    const files = [...new Set(issues.map((i) => i.file))].join(', ');
    const heading = `${issues.length} problem${issues.length === 1 ? '' : 's'} in ${files}`;
    super([heading, ...issues.map(formatIssue)].join('\n'));
    this.issues = issues;
  }
}
