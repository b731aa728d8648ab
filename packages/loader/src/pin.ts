/** unpin: remove a pin from bpffs. */
import { rmSync } from 'node:fs';

/**
 * Removes a pin from bpffs. The object lives on while something else holds
 * it (an fd, another pin, an attachment through a link).
 */
export function unpin(path: string): void {
  rmSync(path);
}
