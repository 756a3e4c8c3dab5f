// SPDX-License-Identifier: MIT
// Where the cluster secret comes from: a file, the environment, the command line, or a generated 0600 file.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>

namespace taskfleet::net {

/** Outcome of loading or creating the cluster secret. */
struct SecretResult {
    QByteArray secret;    ///< the secret bytes (whitespace-trimmed); empty on failure
    QString path;         ///< the file it came from or was written to, if any
    QString error;        ///< why there is no secret; empty on success
    QStringList warnings; ///< things the caller should show the user (also logged)
    QString source;       ///< where it came from, for logs: "file PATH", "the command line", "TASKFLEET_SECRET"

    bool ok() const { return error.isEmpty() && !secret.isEmpty(); }
};

/**
 * Where a program may take the cluster secret from. lookup() tries them in this order and uses the
 * first that is set; every program (agent, run, desktop app) goes through it, so the order is the same
 * everywhere: an explicit file, the command line, the app's stored secret, TASKFLEET_SECRET, and (for
 * the agent only) a secret generated once in its state directory.
 */
struct SecretSources {
    QString file;                       ///< --secret-file FILE
    std::optional<QString> commandLine; ///< --secret TEXT (visible in ps: the result warns)
    QString storedFile;                 ///< the desktop app's saved secret (used if the file exists)
    bool environment = true;            ///< TASKFLEET_SECRET
    QString generateInStateDir;         ///< load or create <dir>/secret when nothing else is set (the agent)
    QString missing;                    ///< the error when no source is set
};

/**
 * Loads and creates the cluster secret. There is no default secret: every function either
 * returns a non-empty secret or an error. Errors are values; nothing throws.
 *
 * The secret is whatever bytes the user chose (trimmed of surrounding whitespace); a generated
 * secret is 32 random bytes written as 64 hex characters, so that it can be copied into
 * TASKFLEET_SECRET or a secret file on another machine. Keys are derived from it with
 * deriveKey(); the secret itself never goes on the wire.
 *
 * Threading: stateless functions, callable from any thread.
 */
class SecretStore
{
public:
    SecretStore() = delete;

    /** The environment variable read by fromEnvironment(). */
    static constexpr const char *EnvironmentVariable = "TASKFLEET_SECRET";
    /** Random bytes in a generated secret (before hex encoding). */
    static constexpr int GeneratedBytes = 32;
    /** Largest secret file accepted. */
    static constexpr qint64 MaxFileSize = 64 * 1024;

    /** Reads a secret file. Warns (does not refuse) if the file is readable or writable by group or others. */
    static SecretResult loadFile(const QString &path);
    /** Reads the secret from \a variable (default TASKFLEET_SECRET). */
    static SecretResult fromEnvironment(const char *variable = EnvironmentVariable);
    /** A secret given on the command line; the result carries commandLineWarning(), which the caller should show. */
    static SecretResult fromString(const QString &text);
    /** The warning for a secret given on the command line (visible in ps and /proc). */
    static QString commandLineWarning();

    /** "<stateDir>/secret". */
    static QString secretFilePath(const QString &stateDir);
    /**
     * Creates \a stateDir if needed (mode 0700 when created here) and writes a new random secret to
     * "<stateDir>/secret", created with mode 0600 before any byte is written. Never overwrites an
     * existing file. Returns the secret and the path.
     */
    static SecretResult generateAndStore(const QString &stateDir);
    /** loadFile(secretFilePath(stateDir)) if that file exists, else generateAndStore(stateDir). */
    static SecretResult loadOrGenerate(const QString &stateDir);
    /** The secret from the first source of \a sources that is set (see SecretSources), with its source named. */
    [[nodiscard]] static SecretResult lookup(const SecretSources &sources);
};

} // namespace taskfleet::net
