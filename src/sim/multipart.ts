/** Minimal multipart/form-data parser for file uploads (RFC 7578): fields with optional filenames. */

export interface FormPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

/** The boundary from a `multipart/form-data; boundary=…` content type, or null. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return null;
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? '').trim() : null;
}

function headerParam(header: string, param: string): string | null {
  // Anchored on a separator so that `name` does not match inside `filename`.
  const match = new RegExp(`[;\\s]${param}=(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

/** Splits a multipart body into parts; malformed parts are skipped. */
export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let position = body.indexOf(delimiter);
  while (position !== -1) {
    const start = position + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // closing delimiter
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = body.subarray(start + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('utf8').split('\r\n');
      const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? '';
      const type = headers.find((h) => /^content-type:/i.test(h));
      const name = headerParam(disposition, 'name');
      if (name !== null) {
        parts.push({
          name,
          filename: headerParam(disposition, 'filename'),
          contentType: type ? type.slice(type.indexOf(':') + 1).trim() : null,
          data: part.subarray(headerEnd + 4),
        });
      }
    }
    position = next;
  }
  return parts;
}
