// The systemd cgroup driver against a real systemd booted with cgroup v1 only (legacy:
// systemd's own hierarchy is the named v1 one), runc as the control. A unified (v2 only)
// systemd cannot boot on this kind of host: its controllers are bound to v1 hierarchies.
import { systemdDriverSuite } from '../helpers/systemd-driver-suite.js';

systemdDriverSuite('legacy');
