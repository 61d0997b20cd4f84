// The systemd cgroup driver against a real systemd booted in the hierarchy mode of this
// host (hybrid: cgroup v1 controllers, systemd's tracking on cgroup2), runc as the control.
import { systemdDriverSuite } from '../helpers/systemd-driver-suite.js';

systemdDriverSuite('hybrid');
