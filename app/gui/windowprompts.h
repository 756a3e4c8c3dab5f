// SPDX-License-Identifier: MIT
// The two questions the window asks: quit with jobs unfinished, and resume what an earlier session left.
#pragma once

class QWidget;

namespace taskfleet::gui {

class JobLifecycle;

/** "N jobs are not finished. Quit anyway?" (objectName "quitQuestion"); true to quit. */
bool askToQuit(QWidget *parent, int running, bool journaled);
/**
 * "N jobs did not finish when Taskfleet last ended. Resume them?" (objectName "resumeQuestion"), listing them:
 * Resume, Discard, or Later (asked again at the next start).
 */
void askToResume(QWidget *parent, JobLifecycle *jobs);

} // namespace taskfleet::gui
