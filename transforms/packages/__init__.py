"""Package-manager transforms: apt (DO201-DO204), apk, yum/dnf/zypper, pip, pinning."""
