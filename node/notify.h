/* notify.h - tell a service manager how the node is doing (sd_notify protocol).
 *
 * When $NOTIFY_SOCKET names a unix datagram socket (systemd's Type=notify), send it
 * a state line such as "READY=1" or "STOPPING=1". Without $NOTIFY_SOCKET nothing
 * happens. Implemented over a plain socket, so the node needs no libsystemd.
 */
#ifndef HEARTH_NOTIFY_H
#define HEARTH_NOTIFY_H

/* notify_send - send `state`; returns 0 when sent or not under a manager, -1 on error. */
int notify_send(const char *state);

#endif
