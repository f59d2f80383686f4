"""Quote a string as a PostgreSQL literal with psycopg2's C extension (no server
needed), and print the libpq version the extension is linked against."""

import sys

import psycopg2.extensions


def main() -> None:
    text = sys.argv[1] if len(sys.argv) > 1 else "hello"
    quoted = psycopg2.extensions.adapt(text).getquoted().decode()
    version = psycopg2.extensions.libpq_version()
    print(f"{quoted} (libpq {version // 10000}.{version % 10000})")


if __name__ == "__main__":
    main()
