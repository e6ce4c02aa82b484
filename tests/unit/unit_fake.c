/* A fake provider process for unit suites: tests/fakes/fake_*.py started on
 * a free loopback port, stopped and cleaned up after. One implementation
 * for every suite that talks to a fake over real HTTP. */
#include "unit.h"

#include <apr_time.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static int read_port(const unit_fake_t *f)
{
    FILE *fp = fopen(f->portfile, "r");
    int port = 0;

    if (fp) {
        if (fscanf(fp, "%d", &port) != 1) {
            port = 0;
        }
        fclose(fp);
    }
    return port;
}

void unit_fake_start(unit_fake_t *f, const char *script_rel)
{
    const char *root = getenv("CS_SOURCE_ROOT"), *tmp = getenv("TMPDIR");
    char script[1024];
    apr_time_t deadline;
    int port, status;

    memset(f, 0, sizeof(*f));
    f->pid = -1;
    /* A proxy from the environment must not see loopback traffic. */
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    snprintf(script, sizeof(script), "%s%s%s", root && *root ? root : "",
             root && *root ? "/" : "", script_rel);
    ck_assert_msg(access(script, R_OK) == 0,
                  "%s not found (set CS_SOURCE_ROOT or run from the source root)", script);
    snprintf(f->dir, sizeof(f->dir), "%s/cs_fake_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(f->dir) != NULL, "mkdtemp %s: %s", f->dir, strerror(errno));
    snprintf(f->portfile, sizeof(f->portfile), "%s/port", f->dir);
    snprintf(f->log, sizeof(f->log), "%s/requests.jsonl", f->dir);
    f->pid = fork();
    ck_assert_msg(f->pid >= 0, "fork: %s", strerror(errno));
    if (f->pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
#ifdef __linux__
        /* The fake dies with the runner, even when a test crashes it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            close(devnull);
        }
        execlp("python3", "python3", script, "--port", "0", "--portfile", f->portfile,
               "--log", f->log, (char *)NULL);
        _exit(127);
    }
    deadline = apr_time_now() + apr_time_from_sec(15);
    while ((port = read_port(f)) <= 0) {
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
            f->pid = -1;
            ck_abort_msg("%s exited before listening (status %d)", script_rel, status);
        }
        ck_assert_msg(apr_time_now() < deadline, "%s wrote no port within 15 s", script_rel);
        apr_sleep(apr_time_from_msec(20));
    }
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", port);
}

void unit_fake_stop(unit_fake_t *f)
{
    char path[700];
    apr_time_t deadline;
    int status;

    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        deadline = apr_time_now() + apr_time_from_sec(5);
        while (waitpid(f->pid, &status, WNOHANG) == 0) {
            if (apr_time_now() > deadline) {
                kill(f->pid, SIGKILL);
                waitpid(f->pid, &status, 0);
                break;
            }
            apr_sleep(apr_time_from_msec(10));
        }
        f->pid = -1;
    }
    if (*f->dir) {
        unlink(f->portfile);
        unlink(f->log);
        snprintf(path, sizeof(path), "%s.tmp", f->portfile);
        unlink(path);
        rmdir(f->dir);
        *f->dir = '\0';
    }
    *f->base = '\0';
}
