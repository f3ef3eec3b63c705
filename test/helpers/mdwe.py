# Runs a command under the kernel's memory-deny-write-execute rule, the one systemd's
# MemoryDenyWriteExecute=yes applies: prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN), Linux 6.3 and
# later, inherited across exec. Exit 77 when the kernel does not have it.
import ctypes, os, sys

PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    print("prctl(PR_SET_MDWE): %s" % os.strerror(ctypes.get_errno()), file=sys.stderr)
    sys.exit(77)
if len(sys.argv) > 1:
    os.execvp(sys.argv[1], sys.argv[1:])
