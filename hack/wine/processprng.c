/*
 * bcryptprimitives.dll for Wine 8, which has none.
 *
 * Go 1.24 and later take their randomness on Windows from
 * bcryptprimitives!ProcessPrng and will not start without it. This DLL
 * exports that one function on top of advapi32!SystemFunction036
 * (RtlGenRandom), which Wine has. It is for running tests under Wine only
 * and is never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* ProcessPrng fills data with len random bytes; it cannot fail on Windows. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
