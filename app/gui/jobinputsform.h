// SPDX-License-Identifier: MIT
// The inputs part of the job dialogs: a list, a range or a text file, plus retries and timeout.
#pragma once

#include "sched/jobspec.h"

#include <QtCore/QCoreApplication>

class QComboBox;
class QFormLayout;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QStackedWidget;
class QWidget;

namespace taskfleet::gui {

/**
 * The rows a job dialog uses to ask for inputs: a list (one JSON value per line), a range of integers
 * (start, stop, step) or a text file (one string input per line), then retries and the timeout per task.
 * Shared by PluginInputsDialog and PythonJobDialog. Its widgets are children of the dialog and go into
 * the dialog's own form layout (addRows()), so that all labels line up in one column.
 */
class JobInputsForm
{
    Q_DECLARE_TR_FUNCTIONS(taskfleet::gui::JobInputsForm)

public:
    /** Creates the widgets as children of \a dialog (the kind combo box is named "inputKind"). */
    explicit JobInputsForm(QWidget *dialog);

    /** Adds the rows to \a form; \a note (if any) goes below the inputs, above retries and timeout. */
    void addRows(QFormLayout *form, QWidget *note = nullptr);
    /** What the empty list shows as an example. */
    void setListPlaceholder(const QString &text);

    /** Sets spec's inputs, retries and timeout; false with *error naming the bad line or field. */
    bool fill(sched::JobSpec *spec, QString *error) const;

private:
    QWidget *m_dialog;
    QComboBox *m_kind;
    QStackedWidget *m_pages;
    QPlainTextEdit *m_list;
    QSpinBox *m_start;
    QSpinBox *m_stop;
    QSpinBox *m_step;
    QLineEdit *m_file;
    QSpinBox *m_retries;
    QSpinBox *m_timeout;
};

} // namespace taskfleet::gui
