// Command-line usage errors: a stable code and a message that says which flag was wrong.
import { OrbitfedError } from '../common/index.ts';

export function usageError(message: string, field?: string): OrbitfedError {
  return new OrbitfedError('ORBITFED_CLI_USAGE', message, field === undefined ? {} : { field });
}
