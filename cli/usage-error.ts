// Command-line usage errors: a stable code and a message that says which flag was wrong (the
// message names the flag itself, so no separate field prefix).
import { OrbitfedError } from '../common/index.ts';

export function usageError(message: string, _flag?: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_CLI_USAGE', message);
}
