"""The grader's eyes inside a grading kernel: save a coding task's objects as they are, keep checking that they stay
so, and sign both, through nothing a submission can hook.

`arm(key)` runs in the kernel's process after the zygote forks it and before any student code. It installs an
audit hook (PEP 578; there is no way to remove one) that
- refuses the ways code could run unseen inside the grader's work or reach its key: trace and profile functions
  (in any thread), swapping a function's code, walking the garbage collector's graph or other threads' frames;
- on the grader's trigger (`trigger_source`: assigning a code object that carries MARKER, plain syntax that
  looks up no name a submission could rebind) saves the named objects of the cell's globals, read through
  C-level accessors taken before student code ran (a Parameter subclass or a `__class__` cannot lie, a
  shadowed `bool` or a patched `torch.save` is never called), serialised with marshal and signed with the key;
- checks from a thread of its own, at random moments, that the saved objects still are as saved (a hook or a
  thread that changes the model only while the grader looks is caught), and on the grader's last cell writes
  a signed seal saying, per saved file, whether they stayed.
state.py accepts a saved state only with valid signatures and a seal that says it stayed. The key reaches the
kernel through the zygote's request pipe, never its environment, files or cells.
"""
from __future__ import annotations

MARKER = "ftlab-grader"
MAGIC = b"FTLAB-SIGNED-1\n"
DIGEST = 32  # bytes of an HMAC-SHA256
MAX_BYTES = 64 * 2**20  # GlyphNet's state is about 3 MB; more is not a submission's model
MAX_MODULES = 4096
PLAIN = ("bool", "int", "float", "str", "NoneType")
BLOCKED = ("sys.settrace", "sys.setprofile", "sys._current_frames", "gc.get_referrers", "gc.get_referents",
           "gc.get_objects")
BLOCKED_WHILE_SAVING = ("sys._getframe", "object.__getattr__")  # frames of the grader's own work


def trigger_source(*args: object) -> str:
    """A cell that hands `args` (plain constants) to the armed hook: ("dump", file, names) or ("seal", file)."""
    return f"(lambda: 0).__code__ = (lambda: {(MARKER, *args)!r}).__code__"


def verify(key: bytes, name: str, data: bytes) -> bytes | None:
    """The payload of a file the hook wrote (MAGIC, the HMAC of the file's name and payload, the payload), or None
    when it was not signed with `key` for this file name."""
    import hmac

    mac, payload = data[len(MAGIC):len(MAGIC) + DIGEST], data[len(MAGIC) + DIGEST:]
    if not data.startswith(MAGIC) or not hmac.compare_digest(mac, hmac.digest(key, name.encode() + b"\0" + payload,
                                                                               "sha256")):
        return None
    return payload


def arm(key: bytes) -> None:
    """Install the hook in this process (the grading kernel, before student code); see the module's docstring."""
    import sys

    sys.addaudithook(tools(key)[0])


def tools(secret: bytes) -> tuple:
    """(audit hook, save(scope, file, names), seal(file)): the hook arm() installs, and the two things it does on
    the grader's triggers, callable directly (tests; a process where no student code runs)."""
    import _hashlib
    import _thread
    import builtins
    import marshal
    import os
    import random
    import time
    import types

    import numpy
    import torch

    # Everything the hook uses is bound here, while it is pristine, and reached only through this closure: its
    # code looks up no global name (tests/assessment/course/test_course_hostile_state.py checks that).
    type_, len_, id_, tuple_, list_, str_, bool_, int_, float_, set_ = (
        builtins.type, builtins.len, builtins.id, builtins.tuple, builtins.list, builtins.str, builtins.bool,
        builtins.int, builtins.float, builtins.set)
    exception, permission, value_error = builtins.Exception, builtins.PermissionError, builtins.ValueError
    marker, magic, max_bytes, max_modules = MARKER, MAGIC, MAX_BYTES, MAX_MODULES
    blocked, blocked_while_saving = BLOCKED, BLOCKED_WHILE_SAVING
    dict_items, list_copy, code_type, function_type = dict.items, list.copy, types.CodeType, types.FunctionType
    globals_of = types.FunctionType.__dict__["__globals__"].__get__
    name_of = type.__dict__["__name__"].__get__
    mro_of = type.__dict__["__mro__"].__get__
    module_dict = torch.nn.Module.__dict__["__dict__"].__get__
    optimizer_dict = torch.optim.Optimizer.__dict__["__dict__"].__get__
    module_type, optimizer_type, tensor_base = torch.nn.Module, torch.optim.Optimizer, torch._C.TensorBase
    requires_grad = tensor_base.__dict__["requires_grad"].__get__
    data_of = tensor_base.__dict__["data"].__get__
    dtype_of, shape_of = tensor_base.__dict__["dtype"].__get__, tensor_base.__dict__["shape"].__get__
    contiguous, to_numpy, to_bytes = tensor_base.contiguous, tensor_base.numpy, numpy.ndarray.tobytes
    numel, element_size = tensor_base.numel, tensor_base.element_size
    no_function, no_dispatch = torch._C.DisableTorchFunction, torch._C._DisableTorchDispatch
    dtypes = {getattr(torch, n): n for n in ("float32", "float64", "float16", "int64", "int32", "uint8", "bool")}
    optimizers = {cls: name for name in dir(torch.optim) if type(cls := getattr(torch.optim, name)) is type
                  and issubclass(cls, optimizer_type) and cls is not optimizer_type}
    dumps, hmac_digest = marshal.dumps, _hashlib.hmac_digest
    os_open, os_write, os_close, os_unlink = os.open, os.write, os.close, os.unlink
    creating = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    sleep, uniform, start_thread = time.sleep, random.Random().uniform, _thread.start_new_thread
    saved: dict = {}  # file -> [model, optimizer, status (None: as saved), fingerprint]
    busy, watching = [False], [False]

    def is_a(obj, cls):  # the real class, not what __class__ says; compared by identity, so no __eq__ runs
        for base in mro_of(type_(obj)):
            if base is cls:
                return True
        return False

    def plain(value):
        kind = type_(value)
        return value is None or kind is bool_ or kind is int_ or kind is float_ or kind is str_

    def lookup(scope, name):  # only exact str keys compared: no student __eq__ runs
        for key, value in dict_items(scope):
            if type_(key) is str_ and key == name:
                return value
        return None

    def modules_of(model):
        todo, out = [("", model)], []
        while todo:
            if len_(out) >= max_modules:
                raise value_error("the model has too many modules")
            prefix, module = todo.pop(0)
            own = module_dict(module)
            out.append((prefix, module, own))
            dot = prefix + "." if prefix else ""
            for key, child in dict_items(lookup(own, "_modules")):
                if child is not None:
                    if type_(key) is not str_ or not is_a(child, module_type):
                        raise value_error("a child of a module is not a torch.nn.Module")
                    todo.append((dot + key, child))
        return out

    def tensors(own, kind):
        for key, value in dict_items(lookup(own, kind)):
            if value is not None:
                if type_(key) is not str_ or not is_a(value, tensor_base):
                    raise value_error("a parameter or buffer is not a tensor")
                yield key, value

    def fingerprint(model, optimizer):
        out = []
        if model is not None:
            for prefix, module, own in modules_of(model):
                training = lookup(own, "training")
                out.append((prefix, id_(module), training if type_(training) is bool_ else None,
                            tuple_((k, id_(t), requires_grad(t)) for k, t in tensors(own, "_parameters")),
                            tuple_((k, id_(t)) for k, t in tensors(own, "_buffers"))))
        if optimizer is not None:
            for group in list_copy(lookup(optimizer_dict(optimizer), "param_groups")):
                out.append(tuple_((k, tuple_(id_(p) for p in list_copy(v)) if k == "params" else
                                   (v if plain(v) else repr_plain(v))) for k, v in dict_items(group)
                                  if type_(k) is str_))
        return dumps(out)

    def repr_plain(value):
        if type_(value) in (tuple_, list_):
            return tuple_(v if plain(v) else None for v in value)
        return None

    def array(tensor):
        dtype = dtypes.get(dtype_of(tensor))
        if dtype is None:
            raise value_error("a tensor has a dtype the grader does not read")
        if numel(tensor) * element_size(tensor) > max_bytes:  # before a stride-0 view is made contiguous
            raise value_error("a tensor holds far more than any of GlyphNet's")
        return (dtype, tuple_(shape_of(tensor)), to_bytes(to_numpy(contiguous(data_of(tensor)))))

    def record(scope, names):
        found = {name: lookup(scope, name) for name in names}
        out = {"missing": [n for n in names if found[n] is None],
               "types": {n: name_of(type_(v)) for n, v in dict_items(found)}}
        model, optimizer, ids, size = found.get("model"), found.get("optimizer"), {}, [0]
        model = model if model is not None and is_a(model, module_type) else None
        optimizer = optimizer if optimizer is not None and "optimizer" in names and is_a(optimizer, optimizer_type) \
            else None
        if model is not None:
            state, flags, modules = {}, {}, {}
            for prefix, module, own in modules_of(model):
                training = lookup(own, "training")
                extra = {k: v for k, v in dict_items(own) if type_(k) is str_ and not k.startswith("_") and plain(v)}
                modules[prefix] = [name_of(type_(module)), training is True, extra]
                dot = prefix + "." if prefix else ""
                skip = lookup(own, "_non_persistent_buffers_set")
                skip = {k for k in skip if type_(k) is str_} if type_(skip) is set_ else set_()
                for key, param in tensors(own, "_parameters"):
                    ids.setdefault(id_(param), dot + key)
                    state[dot + key], flags[dot + key] = array(param), requires_grad(param)
                    size[0] += len_(state[dot + key][2])
                for key, buffer in tensors(own, "_buffers"):
                    if key not in skip:
                        state[dot + key] = array(buffer)
                        size[0] += len_(state[dot + key][2])
                if size[0] > max_bytes:
                    raise value_error("the model's tensors hold far more than GlyphNet's")
            out["model"] = {"state": state, "requires_grad": flags, "modules": modules}
        if optimizer is not None:
            groups = []
            for group in list_copy(lookup(optimizer_dict(optimizer), "param_groups")):
                params = [ids.get(id_(p)) for p in list_copy(lookup(group, "params"))]
                hparams = {k: (v if plain(v) else repr_plain(v)) for k, v in dict_items(group)
                           if type_(k) is str_ and k != "params" and (plain(v) or repr_plain(v) is not None)}
                groups.append({"params": params, "hparams": hparams})
            kind = type_(optimizer)
            out["optimizer"] = {"type": name_of(kind), "groups": groups,
                                "class": [name for cls, name in dict_items(optimizers) if cls is kind][:1]}
        return out, model, optimizer

    def write(name, payload):
        try:
            os_unlink(name)  # a file of that name the student made (or an earlier kernel wrote) is not ours
        except exception:
            pass
        fd = os_open(name, creating, 0o644)
        try:
            signed = name.rpartition("/")[2].encode() + b"\0" + payload  # as verify() reads it: the file's name
            data = magic + hmac_digest(secret, signed, "sha256") + payload
            while data:
                data = data[os_write(fd, data):]
        finally:
            os_close(fd)

    def watch():
        while True:
            sleep(uniform(0.005, 0.05))
            with no_function(), no_dispatch():
                check()

    def check():
        for name, entry in list_(dict_items(saved)):
            if entry[2] is None:
                try:
                    now = fingerprint(entry[0], entry[1])
                except exception as error:
                    now = repr_error(error)
                if now != entry[3]:
                    entry[2] = "the objects changed after the grader saved them (a hook or a thread at work)"

    def repr_error(error):
        return name_of(type_(error)).encode()

    def dump(scope, name, names):
        if name in saved:
            saved[name][2] = "the grader's save was triggered more than once"
            return
        entry = saved[name] = [None, None, "the save did not finish", None]
        out, model, optimizer = record(scope, names)
        before = fingerprint(model, optimizer)
        payload = dumps(out)
        if fingerprint(model, optimizer) != before:
            entry[2] = "the objects changed while the grader saved them"
            return
        write(name, payload)
        entry[0], entry[1], entry[2], entry[3] = model, optimizer, None, before
        if not watching[0]:
            watching[0] = True
            start_thread(watch, ())

    def seal(name):
        check()
        write(name, dumps({file.rpartition("/")[2]: entry[2] or "ok" for file, entry in dict_items(saved)}))

    def hook(event, args):
        if event in blocked or busy[0] and event in blocked_while_saving:
            raise permission(f"{event} is not allowed while the course grades this notebook")
        if event != "object.__setattr__" or len_(args) != 3 or args[1] != "__code__":
            return
        code = args[2]
        request = None
        if type_(code) is code_type:
            for const in code.co_consts:
                if type_(const) is tuple_ and len_(const) >= 3 and type_(const[0]) is str_ and const[0] == marker \
                        and type_(const[1]) is str_ and type_(const[2]) is str_:
                    request = const
        if request is None:
            raise permission("replacing a function's code is not allowed while the course grades this notebook")
        if type_(args[0]) is not function_type or busy[0]:
            return
        busy[0] = True
        try:
            if request[1] == "dump" and len_(request) == 4 and type_(request[3]) is tuple_:
                save(globals_of(args[0]), request[2], [n for n in request[3] if type_(n) is str_])
            elif request[1] == "seal" and len_(request) == 3:
                seal_now(request[2])
        finally:
            busy[0] = False

    def save(scope, name, names):
        try:
            with no_function(), no_dispatch():
                dump(scope, name, list_(names))
        except exception as error:  # the file is then missing and its status says why: the grader refuses it
            entry = saved.get(name)
            if entry is not None:
                why = str_(error) if type_(error) is value_error else name_of(type_(error))  # no student __str__
                entry[2] = "the grader could not save the objects: " + why[:200]

    def seal_now(name):
        try:
            with no_function(), no_dispatch():
                seal(name)
        except exception:  # no seal: the grader refuses every saved state of this notebook
            pass

    return hook, save, seal_now
