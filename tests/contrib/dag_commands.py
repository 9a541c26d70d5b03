#!/usr/bin/env python3
"""Extract the commands of contrib/airflow/attrib_dag.py without Airflow.

Parses the DAG file with ast (nothing is imported or executed), finds each
BashOperator's task_id and bash_command (string constants, `+` and names of
module-level string constants), the DAG's params, and the dependencies
(`a >> b >> c`), then prints the commands of one run in dependency order,
"TASK_ID<TAB>COMMAND" per line, with {{ ds }} and {{ params.NAME }} rendered
(params overridden by NAME=VALUE arguments).
Anything else in a template, a cycle, or a task without a command fails.
Usage: dag_commands.py DAG.py DS [NAME=VALUE ...]
"""
import ast
import re
import sys


def die(msg):
    sys.exit("dag_commands: " + msg)


def string(node, consts):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return string(node.left, consts) + string(node.right, consts)
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    die("line %d: not a string expression: %s" % (node.lineno, ast.dump(node)[:80]))


def chain(node):
    """a >> b >> c as [a, b, c] (names)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift):
        return chain(node.left) + chain(node.right)
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.List):
        die("line %d: lists in dependencies are not handled" % node.lineno)
    die("line %d: not a dependency: %s" % (node.lineno, ast.dump(node)[:80]))


def main():
    if len(sys.argv) < 3:
        die("usage: dag_commands.py DAG.py DS [NAME=VALUE ...]")
    tree = ast.parse(open(sys.argv[1]).read(), sys.argv[1])
    ds = sys.argv[2]
    consts, tasks, params, edges = {}, {}, {}, []
    for node in tree.body:  # module-level string constants
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = string(node.value, consts)
            except SystemExit:
                pass
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DAG":
            for kw in node.keywords:
                if kw.arg == "params":
                    params = ast.literal_eval(kw.value)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "id", None) == "BashOperator":
            kws = {kw.arg: kw.value for kw in node.value.keywords}
            if "task_id" not in kws or "bash_command" not in kws:
                die("line %d: a BashOperator without task_id or bash_command" % node.lineno)
            tasks[node.targets[0].id] = (ast.literal_eval(kws["task_id"]),
                                         string(kws["bash_command"], consts))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp) and \
                isinstance(node.value.op, ast.RShift):
            names = chain(node.value)
            edges += list(zip(names, names[1:]))
    if not tasks:
        die("no BashOperator found")
    for a, b in edges:
        if a not in tasks or b not in tasks:
            die("a dependency names an unknown task: %s >> %s" % (a, b))
    for kv in sys.argv[3:]:
        k, _, v = kv.partition("=")
        params[k] = v
    # Topological order (Kahn), ties in the order the tasks are defined.
    order, done = [], set()
    while len(order) < len(tasks):
        ready = [t for t in tasks if t not in done and
                 all(a in done for a, b in edges if b == t)]
        if not ready:
            die("the dependencies have a cycle")
        order.append(ready[0])
        done.add(ready[0])

    def render(cmd):
        def sub(m):
            expr = m.group(1).strip()
            if expr == "ds":
                return ds
            if expr.startswith("params.") and expr[7:] in params:
                return str(params[expr[7:]])
            die("template %r cannot be rendered here" % m.group(0))
        return re.sub(r"\{\{(.*?)\}\}", sub, cmd)

    for t in order:
        cmd = render(tasks[t][1])
        if "\n" in cmd or "\t" in cmd:
            die("task %s: a tab or newline in its command" % tasks[t][0])
        print("%s\t%s" % (tasks[t][0], cmd))


if __name__ == "__main__":
    main()
