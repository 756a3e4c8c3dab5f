// SPDX-License-Identifier: MIT
// What a node agent remembers between runs: <state-dir>/agent.ini, read and written in one place.
#pragma once

#include <QtCore/QString>

namespace taskfleet::agent {

/**
 * The agent's saved settings (the desktop app's counterpart is gui::AppSettings). Keys in the INI
 * file: node/id (the agent's persistent UUID, sent in hello and in discovery beacons) and
 * pool/workers (the count a controller set last; it survives restarts unless -w is given).
 */
struct AgentSettings {
    QString nodeId;   ///< empty when missing or not a UUID
    int workers = -1; ///< -1 when never set or not a count from 0 to 4096

    /** The settings in \a path; defaults (above) for a missing file or a bad value. */
    static AgentSettings load(const QString &path);
    /** Writes every field to \a path; false with *error when it cannot be written. */
    [[nodiscard]] bool save(const QString &path, QString *error) const;
};

} // namespace taskfleet::agent
