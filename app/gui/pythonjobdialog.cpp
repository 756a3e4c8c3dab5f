// SPDX-License-Identifier: MIT
// Turns a dropped Python script into a job: which function to run, the modules and the inputs.
#include "pythonjobdialog.h"

#include "jobinputsform.h"

#include "sched/pythonsource.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRegularExpression>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

PythonJobDialog::PythonJobDialog(const QString &scriptPath, const std::optional<exec::PluginInfo> &python,
                                 const QString &pluginError, QWidget *parent)
    : QDialog(parent)
    , m_path(scriptPath)
    , m_python(python)
    , m_pluginError(pluginError)
    , m_about(new QLabel(this))
    , m_problemText(new QLabel(this))
    , m_function(new QComboBox(this))
    , m_modules(new QLineEdit(this))
    , m_name(new QLineEdit(this))
    , m_inputs(std::make_unique<JobInputsForm>(this))
    , m_error(new QLabel(this))
{
    const QFileInfo info(scriptPath);
    setWindowTitle(tr("New Python job: %1").arg(info.fileName()));
    m_about->setText(
        tr("<b>%1</b> <span style=\"color: gray\">in %2</span><br>"
           "Runs one of the script's functions once per input, on every node. "
           "The script is sent to each node once per job.")
            .arg(info.fileName().toHtmlEscaped(), QDir::toNativeSeparators(info.absolutePath()).toHtmlEscaped()));
    m_about->setWordWrap(true);
    m_problemText->setObjectName(QStringLiteral("scriptProblem"));
    m_problemText->setStyleSheet(
        QStringLiteral("#scriptProblem { background: #fdecea; color: #8e1c1c; border: 1px solid #e57373;"
                       " border-radius: 3px; padding: 4px; }"));
    m_problemText->setWordWrap(true);
    m_problemText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_problemText->hide();

    m_function->setObjectName(QStringLiteral("function"));
    m_function->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_modules->setObjectName(QStringLiteral("modules"));
    m_modules->setPlaceholderText(tr("optional, comma separated: math, numpy"));
    m_modules->setToolTip(tr("Imported on each worker before the script runs, as Parallel Python's modules argument. "
                             "The script's own import statements run anyway."));
    m_name->setObjectName(QStringLiteral("jobName"));
    m_inputs->setListPlaceholder(tr("100000\n[2, 3]\n\"text\""));
    auto *note = new QLabel(tr("Each input is one call: a JSON array is the function's positional arguments "
                               "([2, 3] calls f(2, 3)); any other value is its single argument."),
                            this);
    note->setWordWrap(true);
    QPalette quiet = note->palette();
    quiet.setColor(QPalette::WindowText, quiet.color(QPalette::PlaceholderText));
    note->setPalette(quiet);
    m_error->setStyleSheet(QStringLiteral("color: #c62828"));
    m_error->setWordWrap(true);

    auto *form = new QFormLayout;
    form->addRow(tr("Function:"), m_function);
    form->addRow(tr("Modules:"), m_modules);
    form->addRow(tr("Job name:"), m_name);
    m_inputs->addRows(form, note);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_queue = buttons->button(QDialogButtonBox::Ok);
    m_queue->setText(tr("Queue job"));
    auto *again = new QPushButton(tr("Check Again"), this);
    again->setObjectName(QStringLiteral("checkAgain"));
    again->setToolTip(tr("Read the script again (after you edited it) and check it"));
    connect(again, &QPushButton::clicked, this, &PythonJobDialog::reload);
    connect(buttons, &QDialogButtonBox::accepted, this, &PythonJobDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_function, &QComboBox::currentTextChanged, this, &PythonJobDialog::updateDefaultName);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_about);
    layout->addWidget(m_problemText);
    layout->addLayout(form);
    layout->addWidget(m_error);
    auto *buttonRow = new QHBoxLayout;
    buttonRow->addWidget(again);
    buttonRow->addStretch();
    buttonRow->addWidget(buttons);
    layout->addLayout(buttonRow);
    setMinimumWidth(480);
    reload();
}

PythonJobDialog::~PythonJobDialog() = default;

QString PythonJobDialog::function() const
{
    return m_function->currentText().trimmed();
}

void PythonJobDialog::reload()
{
    const QFileInfo info(m_path);
    const QString previous = function();
    m_source.clear();
    m_problem.clear();
    m_warning.clear();
    m_functions.clear();
    m_error->clear();

    QFile f(m_path);
    if (info.exists() && !info.isFile())
        m_problem = tr("%1 is not a regular file").arg(QDir::toNativeSeparators(m_path));
    else if (info.size() > sched::MaxPythonScriptSize)
        m_problem = tr("%1 is larger than %2 MiB")
                        .arg(QDir::toNativeSeparators(m_path))
                        .arg(sched::MaxPythonScriptSize >> 20);
    else if (!f.open(QIODevice::ReadOnly))
        m_problem = tr("cannot read %1: %2").arg(QDir::toNativeSeparators(m_path), f.errorString());
    if (m_problem.isEmpty()) {
        m_source = QString::fromUtf8(f.readAll());
        const sched::PythonSourceInfo check = sched::inspectPythonSource(m_source, info.fileName());
        if (!check.checked)
            m_warning = tr("The script could not be checked: no Python 3 interpreter was found (TASKFLEET_PYTHON, "
                           "/usr/bin/python3 or python3 on PATH). Type the name of the function to run.");
        else if (!check.error.isEmpty())
            m_problem = check.error;
        else if (check.functions.isEmpty())
            m_problem = tr("%1 defines no top-level function to run").arg(info.fileName());
        m_functions = check.functions;
    }

    m_function->clear();
    m_function->addItems(m_functions);
    m_function->setEditable(m_problem.isEmpty() && !m_warning.isEmpty());
    // The function named like the file (sum_primes in sum_primes.py), else the last one: usually the entry point.
    QString preferred = m_functions.contains(previous) ? previous : info.completeBaseName();
    if (!m_functions.contains(preferred))
        preferred = m_functions.isEmpty() ? QString() : m_functions.constLast();
    m_function->setCurrentIndex(m_functions.indexOf(preferred));
    m_function->setEnabled(m_problem.isEmpty());
    updateDefaultName();
    showProblem();
}

void PythonJobDialog::showProblem()
{
    QStringList lines;
    if (!m_problem.isEmpty())
        lines.append(tr("This script cannot run: %1\nFix it, then press Check Again.").arg(m_problem));
    if (!m_python)
        lines.append(tr("The python plugin is not available (%1). It is built when python3-dev is installed; "
                        "add the folder holding libtaskfleet_python.so in File ▸ Settings.")
                         .arg(m_pluginError));
    if (!m_warning.isEmpty())
        lines.append(m_warning);
    m_problemText->setText(lines.join(QLatin1Char('\n')));
    m_problemText->setVisible(!lines.isEmpty());
    m_queue->setEnabled(m_problem.isEmpty() && m_python.has_value());
}

void PythonJobDialog::updateDefaultName()
{
    const QString fn = function();
    const QString file = QFileInfo(m_path).fileName();
    m_name->setPlaceholderText(fn.isEmpty() ? file : tr("%1 in %2").arg(fn, file));
}

std::optional<sched::JobSpec> PythonJobDialog::jobSpec(QString *error) const
{
    if (!m_problem.isEmpty()) {
        *error = m_problem;
        return std::nullopt;
    }
    if (!m_python) {
        *error = tr("the python plugin is not available: %1").arg(m_pluginError);
        return std::nullopt;
    }
    static const QRegularExpression identifier(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    static const QRegularExpression moduleName(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$"));
    const QString fn = function();
    if (!identifier.match(fn).hasMatch() || (!m_functions.isEmpty() && !m_functions.contains(fn))) {
        *error = tr("choose a function of the script");
        return std::nullopt;
    }
    QStringList modules;
    const QStringList parts = m_modules->text().split(QLatin1Char(','));
    for (const QString &part : parts) {
        const QString m = part.trimmed();
        if (m.isEmpty())
            continue;
        if (!moduleName.match(m).hasMatch()) {
            *error
                = tr("modules: \"%1\" is not a module name (give names such as math or os.path, separated by commas)")
                      .arg(m);
            return std::nullopt;
        }
        modules.append(m);
    }

    sched::JobSpec spec;
    const QString name = m_name->text().trimmed();
    spec.name = name.isEmpty() ? m_name->placeholderText() : name;
    spec.plugin = *m_python;
    spec.parameters = sched::pythonJobParameters(m_source, fn, modules, QFileInfo(m_path).fileName());
    spec.sourceFile = m_path;
    if (!m_inputs->fill(&spec, error))
        return std::nullopt;
    return spec;
}

void PythonJobDialog::accept()
{
    QString error;
    if (!jobSpec(&error)) {
        m_error->setText(error);
        return;
    }
    QDialog::accept();
}

} // namespace taskfleet::gui
