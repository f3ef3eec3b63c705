/**
 * Resolves once the loop has read what is ready on its sockets now: the origin's child of the scale step answers
 * the bench's `change` only then (site-worker.ts). The answer's IPC write, and the bench it wakes to take it, came
 * between the change's send and the turn that reads the child's own copies of it (change19: a phase profile of a
 * 50-agent child put 11 of its 13 ms of IPC writes over a change phase in these answers, ~0.5 ms a change): the
 * harness's cost in front of every copy of the origin's child. A datagram sent on loopback is in every group socket
 * when the send returns; called from a socket's or the IPC channel's callback (the poll phase), the first
 * setImmediate runs before the loop polls again, the second after it has read them.
 */
export const afterOwnCopies = (): Promise<void> =>
  new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
