// Linux errno values as the core reports them: errors are values named by errno, never thrown.

/** The errno names the CMA interfaces can produce, with their x86_64/arm64 numbers. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ESPIPE: 29,
  ERANGE: 34,
  ENOTEMPTY: 39,
  EOVERFLOW: 75,
} as const;

export type ErrnoName = keyof typeof ERRNO;

/** glibc's strerror() text, which is what a shell prints after `write error: `. */
export const STRERROR: Record<ErrnoName, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ESPIPE: 'Illegal seek',
  ERANGE: 'Numerical result out of range',
  ENOTEMPTY: 'Directory not empty',
  EOVERFLOW: 'Value too large for defined data type',
};

/** A failed kernel operation: the errno a system call would return. */
export interface Failure {
  readonly ok: false;
  readonly errno: ErrnoName;
}

/** Result of an operation that returns a value or an errno. */
export type Result<T> = ({ readonly ok: true } & T) | Failure;

// Builds the failure value for an errno.
export function fail(errno: ErrnoName): Failure {
  return { ok: false, errno };
}
