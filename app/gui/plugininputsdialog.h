// SPDX-License-Identifier: MIT
// Turns a dropped plugin file into a job: asks for its inputs (list, range or text file).
#pragma once

#include "sched/jobspec.h"

#include <QtWidgets/QDialog>

#include <memory>
#include <optional>

class QLabel;
class QLineEdit;

namespace taskfleet::gui {

class JobInputsForm;

/**
 * Shows a plugin's metadata and lets the user give its inputs: a list (one JSON value per
 * line), a range (start, stop, step) or a text file (one string input per line).
 * jobSpec() builds the job or explains what is wrong.
 */
class PluginInputsDialog : public QDialog
{
    Q_OBJECT

public:
    explicit PluginInputsDialog(const exec::PluginInfo &plugin, QWidget *parent = nullptr);
    ~PluginInputsDialog() override;

    /** The job, or nullopt with *error naming the bad line or field. */
    std::optional<sched::JobSpec> jobSpec(QString *error) const;

    void accept() override;

private:
    exec::PluginInfo m_plugin;
    QLineEdit *m_name;
    std::unique_ptr<JobInputsForm> m_inputs;
    QLabel *m_error;
};

} // namespace taskfleet::gui
