"""The attributes a 2-D convolution op carries, read in one place.

Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and the custom op share the
same attribute set; gradients and the patch read them from a graph or eager op
through `ConvAttrs.from_op`, and pass them on with `kwargs()`.
"""
import dataclasses

from tf_custom_op import geometry


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


@dataclasses.dataclass(frozen=True)
class ConvAttrs:
    strides: tuple
    padding: str
    explicit_paddings: tuple
    data_format: str
    dilations: tuple
    use_cudnn_on_gpu: bool = True

    @classmethod
    def from_op(cls, op):
        return cls(strides=tuple(op.get_attr("strides")),
                   padding=_text(op.get_attr("padding")),
                   explicit_paddings=tuple(op.get_attr("explicit_paddings")),
                   data_format=_text(op.get_attr("data_format")),
                   dilations=tuple(op.get_attr("dilations")),
                   use_cudnn_on_gpu=bool(op.get_attr("use_cudnn_on_gpu")))

    def kwargs(self):
        """Keyword arguments of gen_nn_ops' conv2d* functions and the custom op."""
        return dict(strides=list(self.strides), padding=self.padding,
                    explicit_paddings=list(self.explicit_paddings),
                    use_cudnn_on_gpu=self.use_cudnn_on_gpu,
                    data_format=self.data_format, dilations=list(self.dilations))

    # Spatial views: (rows, columns) whatever the layout.
    @property
    def nchw(self):
        return self.data_format == "NCHW"

    def _spatial(self, four):
        rows, cols = geometry.spatial_axes(self.data_format)
        return (four[rows], four[cols])

    @property
    def spatial_strides(self):
        return self._spatial(self.strides)

    @property
    def spatial_dilations(self):
        return self._spatial(self.dilations)

    @property
    def spatial_explicit_paddings(self):
        """((top, bottom), (left, right)); zeros unless padding is EXPLICIT."""
        if self.padding != "EXPLICIT":
            return (0, 0), (0, 0)
        return geometry.spatial_padding_pairs(self.explicit_paddings, self.data_format)

    def as_nhwc(self):
        """The same convolution described for NHWC tensors."""
        if not self.nchw:
            return self
        def to_nhwc(four):
            return (four[0], four[2], four[3], four[1])
        pads = self.explicit_paddings
        if self.padding == "EXPLICIT":
            pads = tuple(geometry.explicit_paddings_of(self.spatial_explicit_paddings, "NHWC"))
        return dataclasses.replace(self, strides=to_nhwc(self.strides),
                                   dilations=to_nhwc(self.dilations),
                                   explicit_paddings=pads, data_format="NHWC")
