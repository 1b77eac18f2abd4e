import pytest

from actionkit.registry import Registry


def _registry():
    reg = Registry('thing')

    @reg.register_module()
    class Widget:
        def __init__(self, size=1, colour='red'):
            if size < 0:
                raise ValueError(f'size must be >= 0, got {size}')
            self.size, self.colour = size, colour

    return reg, Widget


def test_build_by_name_and_class():
    reg, widget = _registry()
    obj = reg.build(dict(type='Widget', size=3))
    assert isinstance(obj, widget) and obj.size == 3
    assert reg.build(dict(type=widget, colour='blue')).colour == 'blue'
    assert reg.get('Widget') is widget and 'Widget' in reg and len(reg) == 1


def test_default_args_do_not_override_cfg():
    reg, _ = _registry()
    obj = reg.build(dict(type='Widget', size=2), size=5, colour='green')
    assert (obj.size, obj.colour) == (2, 'green')


def test_build_does_not_mutate_cfg_and_passes_built_objects():
    reg, widget = _registry()
    cfg = dict(type='Widget', size=2)
    reg.build(cfg)
    assert cfg == dict(type='Widget', size=2)
    built = widget()
    assert reg.build(built) is built


def test_unknown_type_suggests_close_names():
    reg, _ = _registry()
    message = r"'Widgte' is not registered in the thing registry.*'Widget'"
    with pytest.raises(KeyError, match=message):
        reg.build(dict(type='Widgte'))


def test_missing_type_and_none():
    reg, _ = _registry()
    with pytest.raises(KeyError, match='needs a "type" key'):
        reg.build(dict(size=1))
    with pytest.raises(TypeError, match='from None'):
        reg.build(None)
    # what --cfg-options "a.b={'type': ...}" with an unquoted comma gives: a list, not a dict
    with pytest.raises(TypeError, match=r"from \['x', 'y'\]: expected a dict"):
        reg.build(['x', 'y'])


def test_constructor_errors_name_the_class():
    reg, _ = _registry()
    with pytest.raises(TypeError, match=r"Widget \(in the thing registry\): unknown argument "
                                        r"'sise' in its config; did you mean 'size'\?"):
        reg.build(dict(type='Widget', sise=1))

    @reg.register_module()
    class Gadget:
        def __init__(self, size, colour='red'):
            self.size = size

    with pytest.raises(TypeError, match=r"Gadget .*lacks the required argument\(s\) 'size' "
                                        r"\(it takes: size, colour\)"):
        reg.build(dict(type='Gadget', colour='blue'))

    @reg.register_module()
    class Holder:  # passes a nested config on: its mistakes belong to the inner callee
        def __init__(self, inner=None):
            Gadget(**(inner or {}))

    with pytest.raises(TypeError, match=r"Holder \(in the thing registry\): .*Gadget.__init__\(\) "
                                        r"got an unexpected keyword argument 'sise'"):
        reg.build(dict(type='Holder', inner=dict(size=1, sise=2)))
    with pytest.raises(ValueError, match=r'Widget \(in the thing registry\): size must be >= 0'):
        reg.build(dict(type='Widget', size=-1))


def test_duplicate_registration():
    reg, widget = _registry()
    reg.register_module(module=widget)  # same object again is fine

    class Widget:  # noqa: N801 - a different class with the same name
        pass

    with pytest.raises(KeyError, match='already registered'):
        reg.register_module(module=Widget)
    reg.register_module(module=Widget, force=True)
    assert reg.get('Widget') is Widget
    with pytest.raises(TypeError):
        reg.register_module(name=3)


def test_a_refused_type_gives_its_reason():
    reg, _ = _registry()
    reg.refuse('Gadget', 'it needs the gadget package')
    with pytest.raises(ValueError, match=r"thing type 'Gadget' is not supported: it needs the "
                                         r"gadget package"):
        reg.build(dict(type='Gadget'))
    with pytest.raises(KeyError, match='not registered'):  # others are still unknown
        reg.build(dict(type='Gizmo'))
    assert 'Gadget' not in reg and reg.get('Gadget') is None
