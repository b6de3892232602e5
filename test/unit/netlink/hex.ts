/** Test helper: "08 00 03 00 | 62 72" -> bytes (spaces, pipes and newlines are ignored). */
export function hex(s: string): Buffer {
  const clean = s.replace(/[\s|]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex fixture: ${s}`);
  return Buffer.from(clean, 'hex');
}

export function zeros(n: number): string {
  return '00 '.repeat(n);
}
