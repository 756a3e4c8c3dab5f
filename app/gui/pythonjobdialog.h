// SPDX-License-Identifier: MIT
// Turns a dropped Python script into a job: which function to run, the modules and the inputs.
#pragma once

#include "sched/jobspec.h"

#include <QtWidgets/QDialog>

#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace taskfleet::gui {

class JobInputsForm;

/**
 * Shown for a .py file dropped on the window (or opened with File ▸ Open Job). It compiles the script
 * with a real CPython (sched::inspectPythonSource) and offers its top-level functions; the user picks
 * one, may name modules to import first, and gives the inputs as for a plugin (JobInputsForm: each
 * input is one call, a JSON array being the positional arguments). jobSpec() builds a job of the
 * python plugin whose parameters carry the script's source (sched::pythonJobParameters).
 *
 * A script that does not compile shows the error (file:line: message) and queues nothing; so does a
 * missing python plugin. reload() reads and checks the file again (after it was edited).
 */
class PythonJobDialog : public QDialog
{
    Q_OBJECT

public:
    /**
     * \a python is the python plugin as the window's registry resolves it; without it, \a pluginError
     * says why and the dialog says so instead of queueing.
     */
    PythonJobDialog(const QString &scriptPath, const std::optional<exec::PluginInfo> &python,
                    const QString &pluginError, QWidget *parent = nullptr);
    ~PythonJobDialog() override;

    QString scriptPath() const { return m_path; }
    /** Why nothing can be queued (the script's compile error, or no python plugin); empty when it can. */
    QString problem() const { return m_problem; }
    /** The script's top-level functions, in source order (empty if it did not compile). */
    QStringList functions() const { return m_functions; }
    /** The function chosen in the combo box. */
    QString function() const;

    /** Reads and checks the script again. */
    void reload();

    /** The job, or nullopt with *error saying what is wrong. */
    std::optional<sched::JobSpec> jobSpec(QString *error) const;

    void accept() override;

private:
    void showProblem();
    void updateDefaultName();

    QString m_path;
    std::optional<exec::PluginInfo> m_python;
    QString m_pluginError;
    QString m_source;
    QString m_problem;
    QString m_warning;
    QStringList m_functions;
    QLabel *m_about;
    QLabel *m_problemText;
    QComboBox *m_function;
    QLineEdit *m_modules;
    QLineEdit *m_name;
    std::unique_ptr<JobInputsForm> m_inputs;
    QLabel *m_error;
    QPushButton *m_queue = nullptr;
};

} // namespace taskfleet::gui
