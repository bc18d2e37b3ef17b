/* An LD_PRELOAD helper for the memory benches (benches/soak.sh,
 * benches/connections_rss.sh): asks glibc's allocator, in the live server,
 * what it holds and to give back what is free, on a signal, from a thread
 * of its own (so nothing runs in a signal handler):
 *
 *   SIGUSR1  malloc_stats() to stderr: per arena, the bytes taken from the
 *            system and the bytes in use
 *   SIGUSR2  malloc_trim(0) (free pages of every arena returned to the
 *            system with madvise), then malloc_stats()
 *
 * The two signals are blocked in the main thread before main(), so every
 * thread the program starts inherits the mask and only this one takes
 * them. It adds one thread. gdb's `call malloc_trim(0)` would do without
 * it, but fails on this machine ("Couldn't write extended state status").
 *
 *   cc -O2 -shared -fPIC -o target/malloc_probe.so benches/support/malloc_probe.c -lpthread
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

static sigset_t probe_signals;

static void *probe_wait(void *unused) {
    (void)unused;
    for (;;) {
        int sig;
        if (sigwait(&probe_signals, &sig) != 0)
            continue;
        if (sig == SIGUSR2) {
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            int released = malloc_trim(0);
            clock_gettime(CLOCK_MONOTONIC, &b);
            fprintf(stderr, "malloc_probe: malloc_trim(0) returned %d in %.3f ms\n", released,
                    (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
        }
        fprintf(stderr, "malloc_probe: malloc_stats\n");
        fflush(stderr);
        malloc_stats();
        fflush(stderr);
    }
    return NULL;
}

__attribute__((constructor)) static void probe_init(void) {
    pthread_t thread;
    sigemptyset(&probe_signals);
    sigaddset(&probe_signals, SIGUSR1);
    sigaddset(&probe_signals, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &probe_signals, NULL);
    if (pthread_create(&thread, NULL, probe_wait, NULL) == 0)
        pthread_detach(thread);
}
