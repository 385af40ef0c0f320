package kubescan

import "strings"

// objectList is the part of a list answer the scan reads, for every
// resource it lists: the pod spec is at spec (Pod), spec.template.spec
// (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
// ReplicationController) or spec.jobTemplate.spec.template.spec (CronJob).
type objectList struct {
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []object `json:"items"`
}

type object struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		podSpec
		Template    *podTemplate `json:"template"`
		JobTemplate *struct {
			Spec struct {
				Template *podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
	Status struct {
		ContainerStatuses          []containerStatus `json:"containerStatuses"`
		InitContainerStatuses      []containerStatus `json:"initContainerStatuses"`
		EphemeralContainerStatuses []containerStatus `json:"ephemeralContainerStatuses"`
	} `json:"status"`
}

type podTemplate struct {
	Spec podSpec `json:"spec"`
}

type podSpec struct {
	Containers          []container `json:"containers"`
	InitContainers      []container `json:"initContainers"`
	EphemeralContainers []container `json:"ephemeralContainers"`
}

type container struct {
	Image string `json:"image"`
}

// containerStatus says what the kubelet runs: image is the reference it
// resolved, imageID the digest it pulled.
type containerStatus struct {
	Image   string `json:"image"`
	ImageID string `json:"imageID"`
}

// uses appends every image reference of the object.
func (o *object) uses(to []Use, context, kind string) []Use {
	add := func(image string) {
		if image = strings.TrimSpace(image); image != "" {
			to = append(to, Use{Context: context, Namespace: o.Metadata.Namespace, Kind: kind, Name: o.Metadata.Name, Image: image})
		}
	}
	addSpec := func(s *podSpec) {
		for _, cs := range [][]container{s.Containers, s.InitContainers, s.EphemeralContainers} {
			for _, c := range cs {
				add(c.Image)
			}
		}
	}
	addSpec(&o.Spec.podSpec)
	if t := o.Spec.Template; t != nil {
		addSpec(&t.Spec)
	}
	if jt := o.Spec.JobTemplate; jt != nil && jt.Spec.Template != nil {
		addSpec(&jt.Spec.Template.Spec)
	}
	for _, ss := range [][]containerStatus{o.Status.ContainerStatuses, o.Status.InitContainerStatuses, o.Status.EphemeralContainerStatuses} {
		for _, s := range ss {
			add(s.Image)
			add(s.ImageID)
		}
	}
	return to
}
