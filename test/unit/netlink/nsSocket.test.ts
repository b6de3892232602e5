import { NLMSG_DONE, NLMSG_ERROR, NLM_F_MULTI, RTM_NEWADDR, RTM_NEWLINK } from '../../../src/netlink/codec/constants';
import { DecodeError, EncodeError } from '../../../src/netlink/codec/errors';
import { NLMSG_NOOP, NLMSG_OVERRUN, type Message } from '../../../src/netlink/codec/message';
import { NetlinkError } from '../../../src/netlink/errors';
import { netlinkErrorOf, NsRtnlSocket, ReplyCollector } from '../../../src/netlink/nsSocket';
import { SyscallError } from '../../../src/util/syscall';

const status = (s: number): Buffer => {
  const b = Buffer.alloc(20); // nlmsgerr: s32 error, then the echoed request header
  b.writeInt32LE(s, 0);
  return b;
};
const m = (type: number, seq: number, payload: Buffer = Buffer.from([seq & 0xff]), flags = 0): Message => ({ type, flags, seq, pid: 4242, payload });

describe('ReplyCollector', () => {
  test('a request: the replies until the ACK, the ACK itself left out', () => {
    const c = new ReplyCollector(7);
    expect(c.feed([m(RTM_NEWLINK, 7, Buffer.from('a'))])).toBe(false);
    expect(c.done).toBe(false);
    expect(c.feed([m(RTM_NEWLINK, 7, Buffer.from('b'), NLM_F_MULTI), m(NLMSG_ERROR, 7, status(0))])).toBe(true);
    expect(c.errno).toBe(0);
    expect(c.replies).toEqual([
      { type: RTM_NEWLINK, flags: 0, payload: Buffer.from('a') },
      { type: RTM_NEWLINK, flags: NLM_F_MULTI, payload: Buffer.from('b') },
    ]);
  });

  test('a bare ACK: done, no replies', () => {
    const c = new ReplyCollector(1);
    expect(c.feed([m(NLMSG_ERROR, 1, status(0))])).toBe(true);
    expect(c).toMatchObject({ errno: 0, replies: [], stale: 0 });
  });

  test('a kernel error ends the exchange with its positive errno', () => {
    const c = new ReplyCollector(3);
    expect(c.feed([m(NLMSG_ERROR, 3, status(-17))])).toBe(true);
    expect(c.errno).toBe(17);
  });

  test('a dump: parts over several reads, ended by NLMSG_DONE (status 0 or an error)', () => {
    const c = new ReplyCollector(9);
    expect(c.feed([m(RTM_NEWADDR, 9, undefined, NLM_F_MULTI), m(RTM_NEWADDR, 9, undefined, NLM_F_MULTI)])).toBe(false);
    expect(c.feed([m(RTM_NEWADDR, 9, undefined, NLM_F_MULTI)])).toBe(false);
    expect(c.feed([m(NLMSG_DONE, 9, status(0).subarray(0, 4), NLM_F_MULTI)])).toBe(true);
    expect(c.replies).toHaveLength(3);
    expect(c.errno).toBe(0);

    const failed = new ReplyCollector(10);
    expect(failed.feed([m(RTM_NEWADDR, 10), m(NLMSG_DONE, 10, status(-16).subarray(0, 4))])).toBe(true);
    expect(failed.errno).toBe(16);
  });

  test('messages of another seq are skipped and counted, before and after the end', () => {
    const c = new ReplyCollector(5);
    expect(c.feed([m(RTM_NEWLINK, 4), m(NLMSG_ERROR, 4, status(0)), m(RTM_NEWLINK, 5)])).toBe(false);
    expect(c.feed([m(NLMSG_DONE, 6, status(0)), m(NLMSG_ERROR, 5, status(0)), m(RTM_NEWLINK, 4)])).toBe(true);
    expect(c.stale).toBe(4);
    expect(c.replies).toEqual([{ type: RTM_NEWLINK, flags: 0, payload: Buffer.from([5]) }]);
  });

  test('nothing of our seq counts after the end; the first status stands', () => {
    const c = new ReplyCollector(2);
    c.feed([m(NLMSG_ERROR, 2, status(-19)), m(RTM_NEWLINK, 2), m(NLMSG_ERROR, 2, status(0))]);
    expect(c).toMatchObject({ errno: 19, replies: [], stale: 0 });
  });

  test('netlink control messages (NOOP, OVERRUN) are not replies', () => {
    const c = new ReplyCollector(8);
    c.feed([m(NLMSG_NOOP, 8), m(NLMSG_OVERRUN, 8), m(RTM_NEWLINK, 8), m(NLMSG_ERROR, 8, status(0))]);
    expect(c.replies.map((r) => r.type)).toEqual([RTM_NEWLINK]);
  });

  test('payloads are copied: the read buffer can be reused', () => {
    const buf = Buffer.from('xyz');
    const c = new ReplyCollector(1);
    c.feed([m(RTM_NEWLINK, 1, buf)]);
    buf.fill(0);
    expect(c.replies[0]!.payload.toString()).toBe('xyz');
  });

  test('a status too short to hold an s32 is a DecodeError', () => {
    const c = new ReplyCollector(1);
    expect(() => c.feed([m(NLMSG_ERROR, 1, Buffer.alloc(3))])).toThrow(DecodeError);
  });
});

describe('NsRtnlSocket', () => {
  test.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('timeoutMs %p is refused (0 would mean wait forever)', (t) => {
    expect(() => new NsRtnlSocket({ fd: 3, path: '/run/netns/x' }, t)).toThrow(RangeError);
  });
});

describe('netlinkErrorOf', () => {
  test('a read that timed out (EAGAIN from SO_RCVTIMEO) is ETIMEDOUT, saying how long it waited', () => {
    const e = netlinkErrorOf('list links', new SyscallError('recvfrom', '/run/netns/x', 'Resource temporarily unavailable'), 2500);
    expect(e).toMatchObject({ code: 'EUNKNOWN', errno: 110, op: 'list links' });
    expect(e.message).toBe('list links: EUNKNOWN (no reply within 2500 ms)');
  });

  test('a syscall errno keeps its code, and the syscall message as the detail', () => {
    const e = netlinkErrorOf('open netlink socket in /run/netns/x',
      new SyscallError('setns', '/run/netns/x', 'Operation not permitted', 'CAP_SYS_ADMIN is needed'));
    expect(e).toMatchObject({ code: 'EPERM', errno: 1 });
    expect(e.message).toBe('open netlink socket in /run/netns/x: EPERM (setns /run/netns/x: Operation not permitted (EPERM; CAP_SYS_ADMIN is needed))');
    expect(netlinkErrorOf('x', new SyscallError('sendto', 'y', 'No buffer space available'))).toMatchObject({ code: 'EUNKNOWN', errno: 105 });
  });

  test('EAGAIN from anything but the read is not a timeout', () => {
    expect(netlinkErrorOf('x', new SyscallError('sendto', 'y', 'Resource temporarily unavailable'), 100)).toMatchObject({ errno: 11 });
  });

  test('a request that cannot be encoded is EINVAL', () => {
    const e = netlinkErrorOf('set link x', new EncodeError('nlmsghdr type out of range: 65536'));
    expect(e).toMatchObject({ code: 'EINVAL', errno: 22 });
    expect(e.message).toBe('set link x: EINVAL (nlmsghdr type out of range: 65536)');
  });

  test('a garbled reply, an unknown errno text, anything else: EUNKNOWN with the cause kept', () => {
    const bad = new DecodeError('truncated nlmsghdr (3 bytes left)', 16);
    const e = netlinkErrorOf('list links', bad);
    expect(e).toMatchObject({ code: 'EUNKNOWN', errno: 0, cause: bad });
    expect(e.message).toBe('list links: EUNKNOWN (bad reply from the kernel: truncated nlmsghdr (3 bytes left) (at byte 16))');
    expect(netlinkErrorOf('x', new SyscallError('bind', 'y', 'Odd'))).toMatchObject({ code: 'EUNKNOWN', errno: 0 });
    expect(netlinkErrorOf('x', new Error('boom')).message).toBe('x: EUNKNOWN (boom)');
    const kernel = NetlinkError.fromErrno(17, 'x');
    expect(netlinkErrorOf('y', kernel)).toBe(kernel);
  });
});
