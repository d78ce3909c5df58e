import { constants, openAsBlob } from 'node:fs';
import { access, stat } from 'node:fs/promises';

/**
 * A file the user named, opened for upload — or undefined when it is missing, not a regular file, or not
 * readable. Checked up front: `openAsBlob` alone defers the failure to the upload ("Unable to open file as
 * blob"), after other files may already have been submitted.
 */
export async function openReadable(path: string): Promise<Blob | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined;
    await access(path, constants.R_OK);
    return await openAsBlob(path);
  } catch {
    return undefined;
  }
}
