/** Types of scripts/file-map.mjs, for the test that checks docs/file-map.md. */
export function firstComment(source: string): string;
export function firstSentence(text: string): string;
export function renderFileMap(): string;
