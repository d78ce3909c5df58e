// The part of busboy (installed with multer, which ships no types for it) the simulator uses.
declare module 'busboy' {
  import type { IncomingHttpHeaders } from 'node:http';
  import type { Readable, Writable } from 'node:stream';

  interface FileInfo {
    filename: string | undefined;
    encoding: string;
    mimeType: string;
  }

  interface BusboyConfig {
    headers: IncomingHttpHeaders;
    limits?: { fields?: number; fieldSize?: number; files?: number; fileSize?: number; parts?: number };
  }

  interface Busboy extends Writable {
    on(
      event: 'file',
      listener: (name: string, stream: Readable & { truncated?: boolean }, info: FileInfo) => void,
    ): this;
    on(event: 'field', listener: (name: string, value: string) => void): this;
    on(event: 'close' | 'finish', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export default function busboy(config: BusboyConfig): Busboy;
}
